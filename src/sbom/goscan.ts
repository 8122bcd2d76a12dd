// Go build info read from a binary as it streams past, without running it: the `\xff Go buildinf:` header
// (16-byte aligned, in .go.buildinfo) of Go 1.18+ binaries is followed by the Go version and the module
// info as varint-prefixed strings (the "inline" format). Before Go 1.18 the header holds two pointers to
// Go string headers (runtime.buildVersion, runtime.modinfo) whose bytes sit in .rodata, earlier in the file
// than the header: so while streaming, the ELF program headers and every place that may hold those bytes
// (a "go1." prefix, the module info's start sentinel) are kept, bounded, and the pointers are resolved
// through the ELF segments once the header has been seen.

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** Header (32 bytes) and the two strings; module info of big programs is tens of KiB. */
const TAIL = 1024 * 1024;
/** ELF header and program headers: kept from the start of the file. */
const HEAD = 64 * 1024;
/** The 16 bytes that open runtime.modinfo (cmd/go's sentinel), and what may open runtime.buildVersion. */
const MODINFO_START = Buffer.from("3077af0c9274080241e1c107e6d618e6", "hex");
const GO_PREFIX = Buffer.from("go1.", "latin1");
/** Bounds on what is kept per binary: 4096 × 48 bytes of "go1." places, 8 × 256 KiB of module info. */
const MAX_VERSION_CANDIDATES = 4096;
const MAX_MODINFO_CANDIDATES = 8;
const VERSION_BYTES = 48;
const MODINFO_BYTES = 256 * 1024;

interface Capture {
  readonly at: number;
  readonly want: number;
  parts: Buffer[];
  have: number;
}

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
  private tailAt = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  /** Pre-1.18 candidates by file offset, and the captures still filling. */
  private readonly captured = new Map<number, Buffer>();
  private open: Capture[] = [];
  private versionCandidates = 0;
  private modinfoCandidates = 0;

  push(chunk: Buffer): void {
    if (this.notElf) return;
    if (this.offset === 0 && chunk.length >= 4 && !chunk.subarray(0, 4).equals(ELF)) {
      this.notElf = true;
      return;
    }
    if (this.headBytes < HEAD) {
      this.head.push(Buffer.from(chunk.subarray(0, HEAD - this.headBytes)));
      this.headBytes += Math.min(chunk.length, HEAD - this.headBytes);
    }
    this.feedCaptures(chunk);
    if (this.tail === undefined) this.findCandidates(chunk);
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
      this.tailAt = this.offset - this.carry.length + seamAt;
    } else if (at >= 0) {
      this.tail = [chunk.subarray(at)];
      this.tailBytes = chunk.length - at;
      this.tailAt = this.offset + at;
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

  /** Starts a capture at each "go1." and module-info sentinel of the chunk (and of the seam before it). */
  private findCandidates(chunk: Buffer): void {
    const seamLen = MODINFO_START.length - 1;
    const seam =
      this.carry.length === 0
        ? undefined
        : Buffer.concat([this.carry.subarray(-seamLen), chunk.subarray(0, seamLen)]);
    const seamBase = this.offset - Math.min(this.carry.length, seamLen);
    for (const [pattern, want] of [
      [GO_PREFIX, VERSION_BYTES],
      [MODINFO_START, MODINFO_BYTES],
    ] as const) {
      const starts: number[] = [];
      if (seam !== undefined)
        for (let i = seam.indexOf(pattern); i >= 0; i = seam.indexOf(pattern, i + 1))
          if (seamBase + i < this.offset) starts.push(seamBase + i);
      for (let i = chunk.indexOf(pattern); i >= 0; i = chunk.indexOf(pattern, i + 1))
        starts.push(this.offset + i);
      for (const at of starts) {
        if (want === VERSION_BYTES) {
          if (this.versionCandidates >= MAX_VERSION_CANDIDATES) break;
          this.versionCandidates++;
        } else {
          if (this.modinfoCandidates >= MAX_MODINFO_CANDIDATES) break;
          this.modinfoCandidates++;
        }
        const c: Capture = { at, want, parts: [], have: 0 };
        // Bytes of it already seen (in the seam) come from the carry.
        if (at < this.offset) {
          const early = this.carry.subarray(this.carry.length - (this.offset - at));
          c.parts.push(Buffer.from(early));
          c.have = early.length;
        }
        this.open.push(c);
        this.feedOne(c, chunk.subarray(Math.max(0, at - this.offset)));
      }
    }
    this.open = this.open.filter((c) => c.have < c.want);
  }

  private feedOne(c: Capture, bytes: Buffer): void {
    const take = bytes.subarray(0, c.want - c.have);
    if (take.length > 0) {
      c.parts.push(Buffer.from(take));
      c.have += take.length;
    }
    this.captured.set(c.at, Buffer.concat(c.parts));
    if (c.have >= c.want) c.parts = [];
  }

  /** Continues the captures begun in earlier chunks. */
  private feedCaptures(chunk: Buffer): void {
    for (const c of this.open) this.feedOne(c, chunk);
    this.open = this.open.filter((c) => c.have < c.want);
  }

  result(): GoBuildInfo | undefined {
    if (this.tail === undefined) return undefined;
    const header = Buffer.concat(this.tail);
    return (
      parseBuildInfoHeader(header) ??
      parsePointerFormat(header, this.tailAt, Buffer.concat(this.head), this.captured)
    );
  }
}

interface Segment {
  readonly vaddr: number;
  readonly offset: number;
  readonly size: number;
}

/** The PT_LOAD segments of an ELF file (32- or 64-bit, either byte order), from its first bytes. */
function loadSegments(head: Buffer): Segment[] | undefined {
  if (head.length < 64) return undefined;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (o: number): number => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number): number => (le ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const u64 = (o: number): number => Number(le ? head.readBigUInt64LE(o) : head.readBigUInt64BE(o));
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const out: Segment[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (o + (is64 ? 56 : 32) > head.length) return undefined;
    if (u32(o) !== 1) continue;
    out.push(
      is64
        ? { offset: u64(o + 8), vaddr: u64(o + 16), size: u64(o + 32) }
        : { offset: u32(o + 4), vaddr: u32(o + 8), size: u32(o + 16) },
    );
  }
  return out;
}

/** Go before 1.18: pointers to the string headers of runtime.buildVersion and runtime.modinfo. */
function parsePointerFormat(
  header: Buffer,
  headerAt: number,
  head: Buffer,
  captured: ReadonlyMap<number, Buffer>,
): GoBuildInfo | undefined {
  const ptrSize = header[14] ?? 0;
  if (ptrSize !== 4 && ptrSize !== 8) return undefined;
  const big = ((header[15] ?? 0) & 0x1) !== 0;
  const segments = loadSegments(head);
  if (segments === undefined) return undefined;
  const toOffset = (vaddr: number): number | undefined => {
    const s = segments.find((x) => vaddr >= x.vaddr && vaddr < x.vaddr + x.size);
    return s === undefined ? undefined : vaddr - s.vaddr + s.offset;
  };
  const ptr = (buf: Buffer, at: number): number | undefined => {
    if (at < 0 || at + ptrSize > buf.length) return undefined;
    if (ptrSize === 4) return big ? buf.readUInt32BE(at) : buf.readUInt32LE(at);
    return Number(big ? buf.readBigUInt64BE(at) : buf.readBigUInt64LE(at));
  };
  /** A Go string whose header lies in the kept tail and whose bytes were captured while streaming. */
  const goString = (headerVaddr: number | undefined): string | undefined => {
    const at = headerVaddr === undefined ? undefined : toOffset(headerVaddr);
    if (at === undefined) return undefined;
    const data = ptr(header, at - headerAt);
    const len = ptr(header, at - headerAt + ptrSize);
    const from = data === undefined ? undefined : toOffset(data);
    if (from === undefined || len === undefined) return undefined;
    const bytes = captured.get(from);
    return bytes === undefined || bytes.length < len ? undefined : bytes.toString("utf8", 0, len);
  };
  const version = goString(ptr(header, 16));
  if (version === undefined || !version.startsWith("go")) return undefined;
  const mod = goString(ptr(header, 16 + ptrSize)) ?? "";
  return parseModInfo(version, mod);
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
