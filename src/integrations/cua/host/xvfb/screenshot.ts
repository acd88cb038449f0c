/**
 * Screenshots straight off the X server: one GetImage request for the root window over the
 * backend's own connection (no helper process), ZPixmap pixels converted to PNG scanlines with
 * the Sub filter, then `png.ts`. The cursor is not part of the root window's image.
 */
import { encodePngRgb, type PngOptions } from './png.js';
import type { X11Connection } from './x11-connection.js';
import { getImage } from './x11-requests.js';

export type PngFilter = 'none' | 'sub';

export interface ScreenshotOptions extends PngOptions {
  /** PNG row filter; 'sub' (default) makes runs of equal pixels into runs of zero bytes. */
  filter?: PngFilter;
}

/** Raw root-window pixels as the server sends them. */
export async function grabRoot(conn: X11Connection, timeoutMs: number): Promise<{ width: number; height: number; data: Buffer; bitsPerPixel: number }> {
  const { root, width, height, rootDepth, formats } = conn.setup;
  const reply = await conn.request(getImage(root, 0, 0, width, height), timeoutMs);
  const depth = reply[1] ?? rootDepth;
  const bitsPerPixel = formats.find((f) => f.depth === depth)?.bitsPerPixel ?? 32;
  return { width, height, data: reply.subarray(32), bitsPerPixel };
}

function shiftOf(mask: number): number {
  if (mask === 0) return 0;
  let s = 0;
  while (((mask >>> s) & 1) === 0) s++;
  return s;
}

function scale(mask: number): number {
  const bits = (mask >>> shiftOf(mask)).toString(2).length;
  return bits >= 8 ? 1 : 255 / ((1 << bits) - 1);
}

/**
 * Converts ZPixmap data (32 bits per pixel, least significant byte first, TrueColor masks) into
 * PNG scanlines with the chosen filter. Other pixel layouts are refused: Xvfb -screen WxHx24 always
 * gives this one.
 */
export function zpixmapToScanlines(
  width: number,
  height: number,
  data: Buffer,
  layout: { bitsPerPixel: number; imageByteOrder: 'lsb' | 'msb'; redMask: number; greenMask: number; blueMask: number },
  filter: PngFilter = 'sub',
): Buffer {
  if (layout.bitsPerPixel !== 32 || layout.imageByteOrder !== 'lsb') {
    throw new Error(`unsupported pixel layout: ${layout.bitsPerPixel} bpp, ${layout.imageByteOrder}`);
  }
  const stride = width * 4; // 32 bpp rows are already 32-bit aligned
  if (data.length < stride * height) throw new Error(`image data too short: ${data.length} < ${stride * height}`);
  const out = Buffer.allocUnsafe(height * (1 + width * 3));
  const rs = shiftOf(layout.redMask);
  const gs = shiftOf(layout.greenMask);
  const bs = shiftOf(layout.blueMask);
  const standard = layout.redMask === 0xff0000 && layout.greenMask === 0xff00 && layout.blueMask === 0xff;
  const rk = scale(layout.redMask);
  const gk = scale(layout.greenMask);
  const bk = scale(layout.blueMask);
  const sub = filter === 'sub';
  let o = 0;
  for (let y = 0; y < height; y++) {
    out[o++] = sub ? 1 : 0;
    let i = y * stride;
    let pr = 0;
    let pg = 0;
    let pb = 0;
    for (let x = 0; x < width; x++, i += 4) {
      let r: number;
      let g: number;
      let b: number;
      if (standard) {
        b = data[i] as number;
        g = data[i + 1] as number;
        r = data[i + 2] as number;
      } else {
        const p = data.readUInt32LE(i);
        r = Math.round(((p & layout.redMask) >>> rs) * rk);
        g = Math.round(((p & layout.greenMask) >>> gs) * gk);
        b = Math.round(((p & layout.blueMask) >>> bs) * bk);
      }
      if (sub) {
        out[o++] = (r - pr) & 0xff;
        out[o++] = (g - pg) & 0xff;
        out[o++] = (b - pb) & 0xff;
        pr = r;
        pg = g;
        pb = b;
      } else {
        out[o++] = r;
        out[o++] = g;
        out[o++] = b;
      }
    }
  }
  return out;
}

export async function screenshotPng(conn: X11Connection, timeoutMs: number, options: ScreenshotOptions = {}): Promise<Buffer> {
  const { width, height, data, bitsPerPixel } = await grabRoot(conn, timeoutMs);
  const { imageByteOrder, redMask, greenMask, blueMask } = conn.setup;
  const scanlines = zpixmapToScanlines(width, height, data, { bitsPerPixel, imageByteOrder, redMask, greenMask, blueMask }, options.filter);
  return encodePngRgb(width, height, scanlines, options);
}
