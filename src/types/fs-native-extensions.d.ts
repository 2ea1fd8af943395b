/** The part of fs-native-extensions dtool uses (the package ships no types). */
declare module 'fs-native-extensions' {
  /** An exclusive (or, with `shared`, shared) lock on the whole file; false when another holds it. */
  export function tryLock(fd: number, options?: { readonly shared?: boolean }): boolean;
}
