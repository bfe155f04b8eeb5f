import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "namespaces" }
  | { page: "namespace"; name: string }
  | { page: "new-namespace" }
  | { page: "backends" }
  | { page: "traffic" }
  | { page: "migrations"; name?: string }
  | { page: "audit" };

/** `#/namespaces/demo-kv` → `{ page: "namespace", name: "demo-kv" }`; anything unknown → namespaces. */
export function parseRoute(hash: string): Route {
  const [first, second] = hash
    .replace(/^#\/?/, "")
    .split("/")
    .map((part) => safeDecode(part));
  switch (first) {
    case "namespaces":
      return second ? { page: "namespace", name: second } : { page: "namespaces" };
    case "new-namespace":
    case "backends":
    case "traffic":
    case "audit":
      return { page: first };
    case "migrations":
      return second ? { page: "migrations", name: second } : { page: "migrations" };
    default:
      return { page: "namespaces" };
  }
}

/** The hash of a page, for links: `href("namespace", "demo-kv")` → `#/namespaces/demo-kv`. */
export function href(page: "namespace" | "migrations", name?: string): string {
  const base = page === "namespace" ? "#/namespaces" : "#/migrations";
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

export function navigate(hash: string): void {
  window.location.hash = hash;
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
