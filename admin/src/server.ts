import cookie from "@fastify/cookie";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import Fastify, { type FastifyReply } from "fastify";
import { fromGrpcError, HttpError } from "./api-error.js";
import type { Session as SessionAnswer } from "./api-types.js";
import { Guard } from "./guard.js";
import { OidcLogin, type OidcLoginOptions } from "./oidc-login.js";
import { registerRoutes } from "./routes.js";
import { SESSION_COOKIE, type Session, SessionStore } from "./sessions.js";
import { TrafficFeed } from "./traffic-feed.js";
import { indexHtml, UiBuilder } from "./ui-bundle.js";

/** What the admin web server needs: where to listen, the gateway to talk to, and login when auth is on. */
export interface AdminServerOptions {
  /** `host:port`; port 0 picks a free one. The gateway's config checks decide who may listen where. */
  listen: string;
  /** The gateway's gRPC address; the server talks to AdminService only. */
  gateway: { address: string; credentials?: ChannelCredentials };
  /** OIDC login (authorization code + PKCE) when the gateway requires auth. */
  oidc?: OidcLoginOptions & {
    /** The URL browsers reach the UI at (behind a proxy); default `http://<listen>`. */
    publicUrl?: string;
  };
  /** Mark cookies Secure (set when served behind TLS). */
  secureCookies?: boolean;
  /** How long an unused session lives (default one hour). */
  sessionIdleMs?: number;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface AdminServer {
  /** `http://host:port` it listens on. */
  readonly url: string;
  close(): Promise<void>;
}

/** Headers on every answer: no framing, no sniffing, no referrer, scripts and styles from here only. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const hostPortOf = (listen: string) => {
  const at = listen.lastIndexOf(":");
  return { host: listen.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(listen.slice(at + 1)) };
};

/**
 * Starts the admin web server (fastify): the browser UI (bundled on first load), the JSON API
 * under /api (types in api-types.ts) that calls the gateway's AdminService — never a backend —
 * with the signed-in operator's token, a Server-Sent Events feed of live traffic, and, with
 * `oidc`, login by authorization code + PKCE with an HttpOnly session cookie and CSRF tokens.
 *
 * @example const server = await startAdminServer({ listen: "127.0.0.1:8981", gateway: { address }, logger });
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const admin = createPromiseClient(AdminService, {
    address: options.gateway.address,
    ...(options.gateway.credentials && { credentials: options.gateway.credentials }),
  });
  const sessions = new SessionStore(options.sessionIdleMs ?? 3_600_000);
  const login = options.oidc && new OidcLogin(options.oidc);
  const ui = new UiBuilder();
  // Event streams never go idle: close them with the server.
  const app = Fastify({ bodyLimit: 256 * 1024, logger: false, forceCloseConnections: true });
  await app.register(cookie);
  // Every failure answers an ApiError; fastify's own (body too large, bad JSON) keep their status.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof HttpError) return fail(reply, error);
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const known = status >= 400 && status < 500;
    return fail(
      reply,
      HttpError.of(
        status,
        known ? "INVALID_ARGUMENT" : "INTERNAL",
        known ? (error as Error).message : "internal error",
      ),
    );
  });
  // An empty JSON body is `{}`'s shorthand (DELETE, logout); anything else must parse.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, text, done) => {
    if (text === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text as string));
    } catch {
      done(HttpError.of(400, "INVALID_ARGUMENT", "the body is not JSON"), undefined);
    }
  });
  app.addHook("onSend", async (request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith("/api/") || request.url.startsWith("/auth/"))
      reply.header("cache-control", "no-store");
    return payload;
  });

  // The listen address is known once bound; the guard and the feed are created before routes.
  const allowed = { hosts: new Set<string>(), origins: new Set<string>() };
  const guard = new Guard(
    sessions,
    allowed.hosts,
    allowed.origins,
    login !== undefined,
    options.secureCookies === true,
  );
  /** The token the feed polls with: any watching operator's (the gateway checks it each time). */
  const watchers = new Map<object, Session>();
  const feed = new TrafficFeed(
    () => {
      const session = [...watchers.values()].find((s) => !guard.authRequired || s.user);
      return admin.getTraffic({}, { timeoutMs: 2000, headers: session ? guard.headersOf(session) : {} });
    },
    (error) => options.logger.warn({ err: fromGrpcError(error).body.error }, "admin UI: GetTraffic failed"),
  );

  app.get("/api/session", async (request, reply): Promise<SessionAnswer | undefined> => {
    if (!guard.hostAllowed(request)) return fail(reply, HttpError.of(421, "MISDIRECTED", "unknown host"));
    const session = guard.session(request, reply);
    const user = session.user;
    return {
      authRequired: guard.authRequired,
      ...(user && { user: { subject: user.subject, groups: user.groups, admin: user.admin } }),
      ...(!guard.authRequired && { user: { subject: "anonymous", groups: [], admin: true } }),
      csrfToken: session.csrfToken,
    };
  });

  app.get("/api/traffic/stream", async (request, reply) => {
    let session: Session;
    try {
      session = guard.check(request, false);
    } catch (error) {
      return fail(reply, error as HttpError);
    }
    reply.hijack();
    reply.raw.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    const send = (event: string, data: unknown) =>
      reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const key = {};
    watchers.set(key, session);
    const { history, unsubscribe } = feed.subscribe((tick) => send("tick", tick));
    send("history", history);
    request.raw.on("close", () => {
      watchers.delete(key);
      unsubscribe();
    });
  });

  registerRoutes(app, admin, guard, feed);

  if (login) {
    const redirectUri = () => `${options.oidc?.publicUrl ?? server.url}/auth/callback`;
    app.get("/auth/login", async (request, reply) => {
      if (!guard.hostAllowed(request)) return fail(reply, HttpError.of(421, "MISDIRECTED", "unknown host"));
      try {
        const url = await login.begin(guard.session(request, reply), redirectUri());
        return reply.redirect(url.href);
      } catch (error) {
        options.logger.warn({ err: (error as Error).message }, "admin UI: login could not start");
        return reply
          .code(503)
          .type("text/plain")
          .send("The identity provider cannot be reached; try again later.\n");
      }
    });
    app.get("/auth/callback", async (request, reply) => {
      if (!guard.hostAllowed(request)) return fail(reply, HttpError.of(421, "MISDIRECTED", "unknown host"));
      const session = sessions.get(request.cookies[SESSION_COOKIE]);
      if (!session) return reply.code(400).type("text/plain").send("No login in progress in this browser.\n");
      try {
        const token = await login.complete(session, new URL(request.url, redirectUri()));
        const who = await admin.whoAmI(
          {},
          { headers: { authorization: `Bearer ${token.accessToken}` }, timeoutMs: 5000 },
        );
        // A fresh session after login (the pre-login id may have been seen by others: fixation).
        sessions.delete(session.id);
        const next = sessions.create();
        next.user = { ...token, subject: who.subject, groups: who.groups, admin: who.admin };
        reply.setCookie(SESSION_COOKIE, next.id, {
          path: "/",
          httpOnly: true,
          sameSite: "lax",
          secure: options.secureCookies === true,
        });
        options.logger.info({ subject: who.subject, admin: who.admin }, "admin UI: operator signed in");
        return reply.redirect("/");
      } catch (error) {
        options.logger.warn({ err: (error as Error).message }, "admin UI: login failed");
        return reply.code(401).type("text/plain").send("The login failed; start again from the admin UI.\n");
      }
    });
  }
  app.post("/auth/logout", async (request, reply) => {
    try {
      const session = guard.check(request, true);
      sessions.delete(session.id);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return {};
    } catch (error) {
      return fail(reply, error instanceof HttpError ? error : fromGrpcError(error));
    }
  });

  app.get("/assets/:file", async (request, reply) => {
    const bundle = await ui.get();
    const file = (request.params as { file: string }).file;
    if (file === `app.${bundle.digest}.js`)
      return reply
        .type("text/javascript; charset=utf-8")
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(bundle.js);
    if (file === `app.${bundle.digest}.css`)
      return reply
        .type("text/css; charset=utf-8")
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(bundle.css);
    return reply.code(404).send();
  });
  // Every other GET is a page of the UI (hash routes): the one HTML document.
  app.setNotFoundHandler(async (request, reply) => {
    if (request.method !== "GET" || request.url.startsWith("/api/")) {
      return fail(reply, HttpError.of(404, "NOT_FOUND", "no such route"));
    }
    if (!guard.hostAllowed(request)) return fail(reply, HttpError.of(421, "MISDIRECTED", "unknown host"));
    try {
      return reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .send(indexHtml(await ui.get()));
    } catch (error) {
      options.logger.warn({ err: (error as Error).message }, "admin UI: the UI bundle failed to build");
      return reply
        .code(500)
        .type("text/plain")
        .send("The admin UI could not be built; see the gateway's log.\n");
    }
  });

  const { host, port } = hostPortOf(options.listen);
  await app.listen({ host, port });
  const bound = (app.server.address() as { port: number }).port;
  const hostText = host.includes(":") ? `[${host}]` : host;
  for (const name of new Set([hostText, "127.0.0.1", "localhost", "[::1]"])) {
    allowed.hosts.add(`${name}:${bound}`);
    allowed.origins.add(`http://${name}:${bound}`);
    allowed.origins.add(`https://${name}:${bound}`);
  }
  if (options.oidc?.publicUrl) {
    const url = new URL(options.oidc.publicUrl);
    allowed.hosts.add(url.host);
    allowed.origins.add(url.origin);
  }
  const server = {
    url: `http://${hostText}:${bound}`,
    async close() {
      feed.stop();
      await app.close();
      admin.close();
    },
  };
  options.logger.info({ address: `${hostText}:${bound}`, url: server.url }, "prism admin UI listening");
  return server;
}

function fail(reply: FastifyReply, error: HttpError) {
  return reply.code(error.status).send(error.body);
}
