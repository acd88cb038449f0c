/**
 * PNG encoding of 8-bit RGB images with node:zlib. The caller hands in scanlines that already carry
 * their PNG filter-type byte (see `screenshot.ts`); this file only frames them: signature, IHDR,
 * one IDAT of deflated data, IEND. Deflate runs on libuv's thread pool, not the event loop.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflate = promisify(zlib.deflate);

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngOptions {
  /** zlib level 0..9; 1 is the fast default (screens are mostly flat colour, which deflates well even at 1). */
  level?: number;
  /** zlib strategy; the default one (LZ77 + Huffman) is the most robust on screen content. */
  strategy?: number;
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

/** `scanlines` holds `height` rows of 1 filter byte + width*3 RGB bytes. */
export async function encodePngRgb(width: number, height: number, scanlines: Buffer, options: PngOptions = {}): Promise<Buffer> {
  if (scanlines.length !== height * (1 + width * 3)) {
    throw new RangeError(`scanlines hold ${scanlines.length} bytes, expected ${height * (1 + width * 3)}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  // compression 0, filter method 0, interlace none
  const idat = await deflate(scanlines, {
    level: options.level ?? 1,
    strategy: options.strategy ?? zlib.constants.Z_DEFAULT_STRATEGY,
  });
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

