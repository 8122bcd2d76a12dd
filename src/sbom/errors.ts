// Failures of SBOM cataloging as one error class with a closed set of codes: every bound on layer bytes
// (tar bombs, decompression bombs, zip bombs, huge layers), unsafe paths and symlink loops ends here with a
// message naming the image, the layer and the path, never as an out-of-memory or a hang.

export const SbomErrorCode = {
  /** The layer blob declares (or streams) more compressed bytes than allowed. */
  LAYER_TOO_LARGE: "LAYER_TOO_LARGE",
  /** Uncompressed tar bytes of one layer or of the whole image exceed the bound (tar bomb). */
  UNCOMPRESSED_TOO_LARGE: "UNCOMPRESSED_TOO_LARGE",
  /** Uncompressed bytes grew past the allowed ratio to compressed bytes (decompression bomb). */
  DECOMPRESSION_RATIO: "DECOMPRESSION_RATIO",
  /** More tar entries in one layer or in the image than allowed. */
  TOO_MANY_ENTRIES: "TOO_MANY_ENTRIES",
  /** A tar entry or zip entry with an absolute path or a `..` component. */
  UNSAFE_PATH: "UNSAFE_PATH",
  /** A symlink chain longer than the bound, or a loop. */
  SYMLINK_LOOP: "SYMLINK_LOOP",
  /** A jar (zip) whose entries are too many, too big, or inflate past their bound. */
  ZIP_BOMB: "ZIP_BOMB",
  /** A layer that is not a tar, a zip that is not one, a package database that cannot be read. */
  MALFORMED: "MALFORMED",
  /** A layer media type gitward does not decompress (only tar, tar+gzip, tar+zstd). */
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  /** The index holds no manifest for the requested platform. */
  NO_PLATFORM: "NO_PLATFORM",
} as const;
export type SbomErrorCode = (typeof SbomErrorCode)[keyof typeof SbomErrorCode];

export class SbomError extends Error {
  override readonly name = "SbomError";
  readonly code: SbomErrorCode;

  constructor(code: SbomErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Bounds on what one image may make gitward read; defaults in one place, overridable per call. */
export interface SbomLimits {
  /** Compressed bytes of one layer (also bounded by its descriptor's size). */
  layerBytes: number;
  /** Uncompressed tar bytes of one layer, and of all layers together. */
  layerUncompressedBytes: number;
  imageUncompressedBytes: number;
  /** Uncompressed/compressed ratio allowed once past `ratioAfterBytes` uncompressed bytes. */
  maxRatio: number;
  ratioAfterBytes: number;
  /** Tar entries of one layer, and of all layers together. */
  layerEntries: number;
  imageEntries: number;
  /** Largest package database file kept in memory (dpkg status, apk installed, rpmdb.sqlite, METADATA). */
  fileBytes: number;
  /** Largest jar read for its pom.properties, entries per jar, and inflated bytes per entry. */
  jarBytes: number;
  jarEntries: number;
  zipEntryBytes: number;
  /** Symlinks followed when resolving one path. */
  symlinkDepth: number;
}

export const DEFAULT_LIMITS: SbomLimits = {
  layerBytes: 8 * 1024 ** 3,
  layerUncompressedBytes: 16 * 1024 ** 3,
  imageUncompressedBytes: 32 * 1024 ** 3,
  maxRatio: 200,
  ratioAfterBytes: 64 * 1024 ** 2,
  layerEntries: 1_000_000,
  imageEntries: 4_000_000,
  fileBytes: 64 * 1024 ** 2,
  jarBytes: 256 * 1024 ** 2,
  jarEntries: 100_000,
  zipEntryBytes: 1024 * 1024,
  symlinkDepth: 40,
};
