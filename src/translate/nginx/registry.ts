// registry.ts: every annotation Portico knows of in the prefixes it watches, and what Portico does
// with it. The registry is what makes "never silent" possible: an annotation in a known prefix
// that is not `implemented` is listed on the object (and by `portico validate`/`explain`), and one
// that grants or restricts access (`access: true`) makes the routes it would have guarded fail
// closed. docs/migration.md's table is generated from (and tested against) this list.

/** KNOWN_PREFIXES are the annotation prefixes of the products users migrate from. */
export const KNOWN_PREFIXES = [
  "nginx.ingress.kubernetes.io/",
  "metallb.io/",
  "metallb.universe.tf/",
  "kube-vip.io/",
  "ako.vmware.com/",
  "projectcontour.io/",
  "traefik.ingress.kubernetes.io/",
] as const;

/**
 * AnnotationStatus: implemented (honoured as the source product documents), accepted (read, with
 * no effect needed in Portico — the note says why), refused (by design, e.g. snippets — the note
 * says what to use instead), unimplemented (not yet; reported on the object).
 */
export type AnnotationStatus = "implemented" | "accepted" | "refused" | "unimplemented";

/** KnownAnnotation is one registry entry. */
export interface KnownAnnotation {
  /** name is the full annotation key. */
  name: string;
  status: AnnotationStatus;
  /** access marks annotations that grant or restrict access: unhonoured, they fail closed. */
  access?: boolean;
  /** note is the one line docs/migration.md shows (what it does in Portico, or why not). */
  note: string;
}

/** KNOWN_ANNOTATIONS is the registry (filled by the annotations work of issue 20). */
export const KNOWN_ANNOTATIONS: readonly KnownAnnotation[] = [];
