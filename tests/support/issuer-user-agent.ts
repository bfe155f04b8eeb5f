/**
 * Just enough of a browser for the dev interactions: a cookie jar, redirects, and submitting the
 * first form of each page with its hidden inputs plus the login or user code it asks for.
 */
export class UserAgent {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly origin: string) {}

  /**
   * Starts at `url` and returns the first redirect that leaves the issuer (the client's callback),
   * or undefined when a page without a form ends the flow (the device success page).
   */
  async browse(url: URL, input: { user: string; userCode?: string }): Promise<URL | undefined> {
    let request: { url: URL; form?: URLSearchParams } = { url };
    for (let step = 0; step < 20; step++) {
      const response = await fetch(request.url, {
        method: request.form ? "POST" : "GET",
        redirect: "manual",
        headers: {
          cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
          ...(request.form && { "content-type": "application/x-www-form-urlencoded" }),
        },
        ...(request.form && { body: request.form }),
      });
      this.keep(response.headers.getSetCookie());
      const body = await response.text();
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, request.url);
        if (next.origin !== this.origin) return next;
        request = { url: next };
        continue;
      }
      if (!response.ok) throw new Error(`issuer answered ${response.status}: ${body.slice(0, 300)}`);
      const form = firstForm(body);
      if (!form) return undefined;
      const fields = new URLSearchParams(form.hidden);
      if (form.visible.includes("login")) {
        fields.set("login", input.user);
        fields.set("password", "any");
      }
      if (form.visible.includes("user_code")) {
        if (!input.userCode) throw new Error("the issuer asked for a user code");
        fields.set("user_code", input.userCode);
      }
      request = { url: new URL(form.action, request.url), form: fields };
    }
    throw new Error("the issuer kept redirecting (more than 20 steps)");
  }

  private keep(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => {
        const [key = "", v = ""] = a.trim().split("=");
        return (
          (key.toLowerCase() === "max-age" && Number(v) <= 0) ||
          (key.toLowerCase() === "expires" && Date.parse(v) < Date.now())
        );
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

const decode = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) =>
    e === "amp" ? "&" : e === "lt" ? "<" : e === "gt" ? ">" : e === "quot" ? '"' : "'",
  );

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w-]+)\s*=\s*"([^"]*)"/g)) out[m[1]!.toLowerCase()] = decode(m[2]!);
  return out;
}

/** The first form of an HTML page: its action, hidden inputs and the names of the others. */
function firstForm(
  html: string,
): { action: string; hidden: [string, string][]; visible: string[] } | undefined {
  const match = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!match) return undefined;
  const hidden: [string, string][] = [];
  const visible: string[] = [];
  for (const input of match[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    const a = attributes(input[1]!);
    if (!a.name) continue;
    if (a.type === "hidden") hidden.push([a.name, a.value ?? ""]);
    else visible.push(a.name);
  }
  return { action: attributes(match[1]!).action ?? "", hidden, visible };
}
