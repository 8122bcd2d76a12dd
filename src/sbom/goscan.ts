// Go build info read from a binary as it streams past, without running it: the `\xff Go buildinf:` header
// (16-byte aligned, in .go.buildinfo) of Go 1.18+ binaries is followed by the Go version and the module
// info as varint-prefixed strings (the "inline" format). Older pointer-format binaries are not read.

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** Header (32 bytes) and the two strings; module info of big programs is tens of KiB. */
const TAIL = 1024 * 1024;

export interface GoModule {
  readonly path: string;
  readonly version: string;
  readonly replacedBy?: { readonly path: string; readonly version: string };
}

export interface GoBuildInfo {
  readonly goVersion: string;
  /** The main package path (`path` line), e.g. helm.sh/helm/v4/cmd/helm. */
  readonly path?: string;
  readonly main?: GoModule;
  readonly deps: readonly GoModule[];
}

/** Streams a file through `push`; `result()` is the build info, or undefined for non-Go or non-ELF files. */
export class GoBuildInfoScanner {
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);
  private tail: Buffer[] | undefined;
  private tailBytes = 0;
  private notElf = false;

  push(chunk: Buffer): void {
    if (this.notElf) return;
    if (this.offset === 0 && chunk.length >= 4 && !chunk.subarray(0, 4).equals(ELF)) {
      this.notElf = true;
      return;
    }
    if (this.tail !== undefined) {
      if (this.tailBytes < TAIL) {
        this.tail.push(chunk);
        this.tailBytes += chunk.length;
      }
      this.offset += chunk.length;
      return;
    }
    // Only the seam (the last bytes of the previous chunk and the first of this one) is copied; the magic
    // is searched in the chunk itself, so a 100 MB binary is not copied chunk by chunk.
    const seam =
      this.carry.length === 0 ? undefined : Buffer.concat([this.carry, chunk.subarray(0, MAGIC.length - 1)]);
    const seamAt = seam === undefined ? -1 : this.aligned(seam, this.offset - this.carry.length);
    const at = seamAt >= 0 ? -1 : this.aligned(chunk, this.offset);
    if (seam !== undefined && seamAt >= 0) {
      this.tail = [seam.subarray(seamAt), chunk.subarray(MAGIC.length - 1)];
      this.tailBytes = seam.length - seamAt + chunk.length - (MAGIC.length - 1);
    } else if (at >= 0) {
      this.tail = [chunk.subarray(at)];
      this.tailBytes = chunk.length - at;
    } else {
      this.carry = Buffer.from(chunk.subarray(Math.max(0, chunk.length - (MAGIC.length - 1))));
    }
    this.offset += chunk.length;
  }

  /** Index of the magic at a 16-byte aligned file offset in `buf` (which starts at file offset `base`). */
  private aligned(buf: Buffer, base: number): number {
    let at = buf.indexOf(MAGIC);
    while (at >= 0 && (base + at) % 16 !== 0) at = buf.indexOf(MAGIC, at + 1);
    return at;
  }

  result(): GoBuildInfo | undefined {
    if (this.tail === undefined) return undefined;
    return parseBuildInfoHeader(Buffer.concat(this.tail));
  }
}

function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && shift < 35; i++) {
    const b = buf[i] ?? 0;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    shift += 7;
  }
  return undefined;
}

function readString(buf: Buffer, at: number): { value: string; next: number } | undefined {
  const len = readVarint(buf, at);
  if (len === undefined || len.next + len.value > buf.length) return undefined;
  return { value: buf.toString("utf8", len.next, len.next + len.value), next: len.next + len.value };
}

/** `buf` starts at the magic. Flags bit 2 marks the inline format (Go 1.18+). */
function parseBuildInfoHeader(buf: Buffer): GoBuildInfo | undefined {
  if (buf.length < 32) return undefined;
  const flags = buf[15] ?? 0;
  if ((flags & 0x2) === 0) return undefined;
  const version = readString(buf, 32);
  if (version === undefined) return undefined;
  const mod = readString(buf, version.next);
  if (mod === undefined) return undefined;
  return parseModInfo(version.value, mod.value);
}

/** The module info text is framed by 16 bytes of sentinel on each side. */
export function parseModInfo(goVersion: string, raw: string): GoBuildInfo {
  let text = raw;
  if (text.length >= 33 && text[text.length - 17] === "\n") text = text.slice(16, -16);
  let path: string | undefined;
  let main: GoModule | undefined;
  const deps: GoModule[] = [];
  for (const line of text.split("\n")) {
    const f = line.split("\t");
    if (f[0] === "path" && f[1] !== undefined) path = f[1];
    else if (f[0] === "mod" && f[1] !== undefined) main = { path: f[1], version: f[2] ?? "" };
    else if (f[0] === "dep" && f[1] !== undefined) deps.push({ path: f[1], version: f[2] ?? "" });
    else if (f[0] === "=>" && f[1] !== undefined) {
      const last = deps.pop();
      if (last !== undefined) deps.push({ ...last, replacedBy: { path: f[1], version: f[2] ?? "" } });
    }
  }
  return {
    goVersion,
    ...(path === undefined ? {} : { path }),
    ...(main === undefined ? {} : { main }),
    deps,
  };
}
