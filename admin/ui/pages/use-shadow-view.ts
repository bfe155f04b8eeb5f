import type { ShadowView } from "../../src/api-types.js";
import { seg } from "../api.js";
import { type Fetched, useFetch } from "../use-fetch.js";

/** GET /api/shadow/NAME: a namespace without a shadow comes back without `shadow` (Start shadow shows). */
export function useShadowView(name: string): Fetched<ShadowView> {
  const shadow = useFetch<ShadowView>(`/api/shadow/${seg(name)}`);
  // After a failed refresh the last view would be stale: show the error alone.
  return shadow.error ? { ...shadow, data: undefined } : shadow;
}
