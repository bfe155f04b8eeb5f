import type { FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "./api-error.js";
import { csrfMatches, SESSION_COOKIE, type Session, type SessionStore } from "./sessions.js";

/**
 * Every /api request passes here: the Host must be this server's (a DNS-rebinding page cannot
 * reach a loopback UI under another name), the session cookie must name a live session, with
 * auth on it must hold a signed-in operator, and a mutation must come from this origin with the
 * session's CSRF token. The gateway still checks the operator's token and admin group on every
 * call; this only keeps other pages in the operator's browser from acting for them.
 */
export class Guard {
  constructor(
    private readonly sessions: SessionStore,
    /** `host:port` values the Host header may carry. */
    private readonly hosts: ReadonlySet<string>,
    /** Origins (`http://host:port`) a mutation may come from. */
    private readonly origins: ReadonlySet<string>,
    readonly authRequired: boolean,
    private readonly secureCookies: boolean,
  ) {}

  hostAllowed(request: FastifyRequest): boolean {
    return this.hosts.has(request.headers.host ?? "");
  }

  /** The caller's session, or a new anonymous one (cookie set on `reply`). */
  session(request: FastifyRequest, reply: FastifyReply): Session {
    const existing = this.sessions.get(request.cookies[SESSION_COOKIE]);
    if (existing) return existing;
    const session = this.sessions.create();
    reply.setCookie(SESSION_COOKIE, session.id, {
      path: "/",
      httpOnly: true,
      sameSite: "lax",
      secure: this.secureCookies,
    });
    return session;
  }

  /** The live session allowed to make this request; throws the API error otherwise. */
  check(request: FastifyRequest, mutation: boolean): Session {
    if (!this.hostAllowed(request)) throw HttpError.of(421, "MISDIRECTED", "unknown host");
    const session = this.sessions.get(request.cookies[SESSION_COOKIE]);
    if (!session) throw HttpError.of(401, "UNAUTHENTICATED", "no session: reload the page");
    if (this.authRequired && !session.user) throw HttpError.of(401, "UNAUTHENTICATED", "sign in first");
    if (mutation) this.checkMutation(request, session);
    return session;
  }

  checkMutation(request: FastifyRequest, session: Session): void {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.origins.has(origin)) {
      throw HttpError.of(403, "CSRF", "cross-origin request refused");
    }
    if (!csrfMatches(session, request.headers["x-csrf-token"])) {
      throw HttpError.of(403, "CSRF", "missing or wrong x-csrf-token: reload the page");
    }
  }

  /** gRPC metadata carrying the session's token, when signed in. */
  headersOf(session: Session): Record<string, string> {
    return session.user ? { authorization: `Bearer ${session.user.accessToken}` } : {};
  }
}
