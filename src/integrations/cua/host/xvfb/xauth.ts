/**
 * The X authority entry of one computer: an MIT-MAGIC-COOKIE-1 for display 0 of any host
 * (FamilyWild), in the Xauthority file format (big-endian lengths) that Xvfb's -auth and Xlib read,
 * and the same cookie in the connection setup our own X client sends.
 */

const FAMILY_WILD = 0xffff;
export const COOKIE_NAME = 'MIT-MAGIC-COOKIE-1';

function field(b: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export function xauthorityEntry(cookie: Buffer, display = 0): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  return Buffer.concat([family, field(Buffer.alloc(0)), field(Buffer.from(String(display))), field(Buffer.from(COOKIE_NAME)), field(cookie)]);
}
