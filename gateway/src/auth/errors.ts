import { PrismError, type Reason } from "@prism/core";

/**
 * A call whose credentials are missing or invalid: UNAUTHENTICATED with a `reason` that says
 * which check failed. The message names the check only — never the token, a claim's value or the
 * library's own text.
 *
 * @example throw unauthenticated("token has expired", "TOKEN_EXPIRED")
 */
export function unauthenticated(message: string, reason: Reason): PrismError {
  return new PrismError("Unauthenticated", message, { reason });
}
