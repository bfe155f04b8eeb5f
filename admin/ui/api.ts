import type { ApiError } from "../src/api-types.js";

/** A non-2xx answer (or no answer at all), carrying the server's `ApiError` body. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly detail: ApiError["error"],
  ) {
    super(detail.message);
  }
}

let csrfToken = "";

/** Set once the session is known; every POST and DELETE echoes it. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** GET a JSON answer; throws `ApiFailure` on a non-2xx answer or a network failure. */
export function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return request<T>(path, { method: "GET", headers: { accept: "application/json" }, signal: signal ?? null });
}

/** POST or DELETE with the CSRF header and a JSON body (`{}` when there is none). */
export function send<T>(method: "POST" | "DELETE", path: string, body: unknown = {}): Promise<T> {
  return request<T>(path, {
    method,
    headers: { accept: "application/json", "content-type": "application/json", "x-csrf-token": csrfToken },
    body: JSON.stringify(body),
  });
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, credentials: "same-origin" });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiFailure(0, {
      code: "UNAVAILABLE",
      message: `The admin server did not answer (${(error as Error).message})`,
      violations: [],
      hint: "Check that the gateway is running, then retry.",
    });
  }
  const text = await response.text();
  if (response.ok) return (text ? JSON.parse(text) : {}) as T;
  throw new ApiFailure(response.status, errorOf(response, text));
}

/** The body's `ApiError`, or one made from the status when the body is not one (a proxy's page). */
function errorOf(response: Response, text: string): ApiError["error"] {
  try {
    const body = JSON.parse(text) as Partial<ApiError>;
    if (body.error && typeof body.error.message === "string") {
      return { ...body.error, violations: body.error.violations ?? [] };
    }
  } catch {
    // Not JSON: described below.
  }
  return {
    code: `HTTP ${response.status}`,
    message: `${response.status} ${response.statusText || "error"}${text ? `: ${text.slice(0, 200)}` : ""}`,
    violations: [],
  };
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/** `encodeURIComponent` for one path segment. */
export const seg = encodeURIComponent;
