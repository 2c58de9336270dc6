/** A minimal POSIX ustar writer for a directory of regular files (checkpoint downloads). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function header(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii');
  const octal = (value: number, offset: number, length: number) => field(value.toString(8).padStart(length - 1, '0') + '\0', offset, length);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  field(name, 0, 100);
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.floor(mtime / 1000), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  let sum = 0;
  for (const byte of h) sum += byte;
  field(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** The directory's files as a tar archive, paths under `prefix/`. */
export function tarDirectory(dir: string, prefix: string): Buffer {
  const parts: Buffer[] = [];
  for (const file of files(dir).sort()) {
    const data = readFileSync(file);
    parts.push(header(`${prefix}/${relative(dir, file).split('\\').join('/')}`, data.length, statSync(file).mtimeMs), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
