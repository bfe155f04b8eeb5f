import { randomBytes, timingSafeEqual } from "node:crypto";

/** The cookie holding a session id (HttpOnly, SameSite=Lax, Secure behind TLS). */
export const SESSION_COOKIE = "prism_admin";
const MAX_SESSIONS = 10_000;

/** A signed-in operator's token, as the gateway will verify it on every AdminService call. */
export interface SessionUser {
  subject: string;
  groups: string[];
  admin: boolean;
  accessToken: string;
  /** Epoch ms after which the gateway refuses the token: the session ends there. */
  expiresAt: number;
}

export interface Session {
  readonly id: string;
  /** Sent back in `x-csrf-token` on every mutation (synchronizer token). */
  readonly csrfToken: string;
  user?: SessionUser;
  /** A login in progress: PKCE verifier and state, checked at the callback. */
  login?: { verifier: string; state: string; startedAt: number };
  lastUsed: number;
}

const token = () => randomBytes(32).toString("base64url");

/**
 * Sessions kept in this process's memory (an admin UI serves a handful of operators; a restart
 * signs them out, which is the safe failure). Ids and CSRF tokens are 256 random bits. Idle
 * sessions and sessions whose token expired are dropped; at most {@link MAX_SESSIONS}, the least
 * recently used going first.
 *
 * @example const session = sessions.get(cookie) ?? sessions.create();
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly idleMs: number) {}

  create(): Session {
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session: Session = { id: token(), csrfToken: token(), lastUsed: Date.now() };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, touched (moved to most recently used); undefined otherwise. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = Date.now();
    if (now - session.lastUsed > this.idleMs) {
      this.sessions.delete(id);
      return undefined;
    }
    if (session.user && now >= session.user.expiresAt) delete session.user;
    session.lastUsed = now;
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== "string") return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
