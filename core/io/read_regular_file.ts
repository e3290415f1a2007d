/**
 * The one way the loaders open files: regular files only (links followed; FIFOs, devices, sockets and
 * folders refused, so a `mkfifo cfg.json` cannot block a read and a link to `/dev/zero` cannot fill
 * memory), sizes bounded before anything is read, reads that fail naming the file.
 *
 * @module
 */

/** An opened regular file and its size when opened. */
export interface RegularFile {
  /** The open file; the caller closes it. */
  file: Deno.FsFile;
  /** Its size in bytes. */
  size: number;
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Opens a regular file (symbolic links followed) of at most `maxBytes` bytes.
 *
 * @example Open a config and read its first bytes
 * ```ts
 * import { openRegularFile } from "./read_regular_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "{}");
 * const { file, size } = await openRegularFile(path, 1024, "a JSON file");
 * file.close();
 * console.log(size); // 2
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest size accepted.
 * @param what What the file should be, for the size error (e.g. "a JSON config").
 * @returns The open file and its size.
 * @throws {Deno.errors.NotFound} When nothing is at `path` (or a link dangles).
 * @throws {TypeError} When `path` is a folder, FIFO, device or socket.
 * @throws {RangeError} When the file is larger than `maxBytes`.
 */
export async function openRegularFile(path: string, maxBytes: number, what: string): Promise<RegularFile> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      const link = await Deno.lstat(path).then((i) => i.isSymlink, () => false);
      throw new Deno.errors.NotFound(`${path} ${link ? "is a symbolic link to a missing file" : "does not exist"}`);
    }
    throw error;
  }
  if (!info.isFile) throw new TypeError(`${path} is ${kindOf(info)}: expected a regular file`);
  if (info.size > maxBytes) {
    throw new RangeError(`${path} is ${info.size} bytes: expected at most ${maxBytes} for ${what}`);
  }
  const file = await Deno.open(path);
  // The path may have been swapped between stat and open: check what was opened.
  const opened = await file.stat();
  if (!opened.isFile || opened.size > maxBytes) {
    file.close();
    throw new TypeError(`${path} changed while being opened: expected a regular file of at most ${maxBytes} bytes`);
  }
  return { file, size: opened.size };
}

/**
 * Reads exactly `length` bytes from the file's current position.
 *
 * @example Read a file's first two bytes
 * ```ts
 * import { openRegularFile, readExactly } from "./read_regular_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * const { file } = await openRegularFile(path, 16, "a text");
 * console.log(await readExactly(file, 2, path)); // Uint8Array(2) [ 97, 98 ]
 * file.close();
 * ```
 *
 * @param file An open file.
 * @param length Bytes to read.
 * @param path Its name, for errors.
 * @returns The bytes.
 * @throws {RangeError} When `length` bytes cannot be held in memory.
 * @throws {SyntaxError} When the file ends first.
 */
export async function readExactly(file: Deno.FsFile, length: number, path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(length);
  } catch (cause) {
    throw new RangeError(`${path}: cannot hold ${length} bytes in memory`, { cause });
  }
  let at = 0;
  while (at < length) {
    const n = await file.read(bytes.subarray(at));
    if (n === null) throw new SyntaxError(`${path} ended after ${at} of the ${length} bytes expected`);
    at += n;
  }
  return bytes;
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes.
 *
 * @example Read a small file
 * ```ts
 * import { readRegularFile } from "./read_regular_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hi");
 * console.log((await readRegularFile(path, 1024, "a text")).length); // 2
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest size accepted.
 * @param what What the file should be, for the size error.
 * @returns Its bytes.
 * @throws {Deno.errors.NotFound} When nothing is at `path`.
 * @throws {TypeError} When `path` is not a regular file.
 * @throws {RangeError} When it is larger than `maxBytes`.
 */
export async function readRegularFile(path: string, maxBytes: number, what: string): Promise<Uint8Array> {
  const { file, size } = await openRegularFile(path, maxBytes, what);
  try {
    return await readExactly(file, size, path);
  } finally {
    file.close();
  }
}

/**
 * Reads a whole regular UTF-8 text file of at most `maxBytes` bytes.
 *
 * @example Read a text file
 * ```ts
 * import { readRegularTextFile } from "./read_regular_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "héllo");
 * console.log(await readRegularTextFile(path, 1024, "a text")); // héllo
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest size accepted.
 * @param what What the file should be, for the size error.
 * @returns Its text.
 * @throws {SyntaxError} When it is not valid UTF-8.
 * @throws {TypeError} When `path` is not a regular file.
 * @throws {RangeError} When it is larger than `maxBytes`.
 */
export async function readRegularTextFile(path: string, maxBytes: number, what: string): Promise<string> {
  const bytes = await readRegularFile(path, maxBytes, what);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new SyntaxError(`${path} is not valid UTF-8 text`, { cause });
  }
}
