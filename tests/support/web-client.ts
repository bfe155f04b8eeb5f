/**
 * A fetch with a cookie jar and this origin's CSRF token, for tests of the admin web server's
 * HTTP API: it behaves like the UI in a browser (same-origin requests, cookies, the token from
 * /api/session echoed on mutations) without a browser.
 *
 * @example const web = new WebClient("http://127.0.0.1:8981"); await web.json("GET", "/api/namespaces")
 */
export class WebClient {
  readonly cookies = new Map<string, string>();
  csrfToken = "";

  constructor(readonly origin: string) {}

  /** The raw answer (redirects not followed); keeps the cookies it sets. */
  async request(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = new URL(path, this.origin);
    const response = await fetch(url, {
      method,
      redirect: "manual",
      headers: {
        cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(method !== "GET" && {
          origin: this.origin,
          "x-csrf-token": this.csrfToken,
          "content-type": "application/json",
        }),
        ...options.headers,
      },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Status and parsed JSON body. */
  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const response = await this.request(method, path, body === undefined ? {} : { body });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** GET /api/session, keeping its CSRF token. */
  async session<T = Record<string, unknown>>(): Promise<T & { csrfToken: string }> {
    const { body } = await this.json<T & { csrfToken: string }>("GET", "/api/session");
    this.csrfToken = body.csrfToken;
    return body;
  }

  /**
   * Reads Server-Sent Events from `path` until `until` returns true for an event (or `timeoutMs`
   * passes); resolves with every event seen.
   */
  async events(
    path: string,
    until: (event: { event: string; data: unknown }) => boolean,
    timeoutMs = 15_000,
  ): Promise<{ event: string; data: unknown }[]> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    const seen: { event: string; data: unknown }[] = [];
    try {
      const response = await fetch(new URL(path, this.origin), {
        headers: { cookie: [...this.cookies].map(([n, v]) => `${n}=${v}`).join("; ") },
        signal: abort.signal,
      });
      if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
      let buffer = "";
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown;
          seen.push({ event, data });
          if (until({ event, data })) return seen;
        }
      }
      return seen;
    } catch (error) {
      if (abort.signal.aborted) return seen;
      throw error;
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }
}
