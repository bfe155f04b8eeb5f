import { useEffect, useRef, useState } from "preact/hooks";
import type { Session } from "../src/api-types.js";
import { send, setCsrfToken } from "./api.js";
import { ErrorAlert } from "./components/error-alert.js";
import { AuditPage } from "./pages/audit.js";
import { BackendsPage } from "./pages/backends.js";
import { MigrationPage, MigrationsListPage } from "./pages/migrations.js";
import { NamespacePage } from "./pages/namespace-page.js";
import { NamespacesPage } from "./pages/namespaces.js";
import { TrafficPage } from "./pages/traffic.js";
import { type Route, useRoute } from "./router.js";
import { trafficFeed, useTrafficFeed } from "./traffic-feed.js";
import { useFetch } from "./use-fetch.js";

const NAV: { id: string; hash: string; text: string; pages: Route["page"][] }[] = [
  {
    id: "namespaces",
    hash: "#/namespaces",
    text: "Namespaces",
    pages: ["namespaces", "namespace", "new-namespace"],
  },
  { id: "backends", hash: "#/backends", text: "Backends", pages: ["backends"] },
  { id: "traffic", hash: "#/traffic", text: "Traffic", pages: ["traffic"] },
  { id: "migrations", hash: "#/migrations", text: "Migrations", pages: ["migrations"] },
  { id: "audit", hash: "#/audit", text: "Audit", pages: ["audit"] },
];

/** Loads the session, then either the sign-in page or the admin pages. */
export function App() {
  const session = useFetch<Session>("/api/session");
  if (session.error) {
    return (
      <main class="centered">
        <ErrorAlert error={session.error} />
        <button type="button" onClick={session.reload}>
          Retry
        </button>
      </main>
    );
  }
  if (!session.data) return <p class="centered muted">Loading…</p>;
  if (session.data.authRequired && !session.data.user) return <SignIn />;
  return <Shell session={session.data} />;
}

function SignIn() {
  return (
    <main class="centered sign-in">
      <h1>Prism admin</h1>
      <p>Sign in with your organisation's account to manage namespaces, backends and migrations.</p>
      <a class="button primary" href="/auth/login" data-testid="sign-in">
        Sign in
      </a>
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const feed = useTrafficFeed();
  const main = useRef<HTMLElement>(null);
  const [signOutError, setSignOutError] = useState<unknown>(undefined);
  const firstRoute = useRef(true);

  useEffect(() => {
    setCsrfToken(session.csrfToken);
    trafficFeed.start();
  }, [session.csrfToken]);

  // After a navigation, move focus to the page so keyboard and screen reader users land on it.
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
  }, [route]);

  const signOut = async () => {
    try {
      await send("POST", "/auth/logout");
      window.location.reload();
    } catch (failure) {
      setSignOutError(failure);
    }
  };

  return (
    <>
      {/* A button, not a link: the hash belongs to the router. */}
      <button type="button" class="skip-link" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/namespaces">
          Prism
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.id}>
                <a
                  href={item.hash}
                  data-testid={`nav-${item.id}`}
                  aria-current={item.pages.includes(route.page) ? "page" : undefined}
                >
                  {item.text}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="session">
          <span class={`feed feed-${feed.status}`} title="Live traffic stream">
            {feed.status === "live" ? "live" : feed.status === "closed" ? "stream closed" : `${feed.status}…`}
          </span>
          {session.user ? (
            <>
              <span class="user" data-testid="user">
                {session.user.subject}
              </span>
              <button type="button" data-testid="sign-out" onClick={signOut}>
                Sign out
              </button>
            </>
          ) : null}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <ErrorAlert error={signOutError} onDismiss={() => setSignOutError(undefined)} />
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "namespaces":
      return <NamespacesPage />;
    case "namespace":
      return <NamespacePage key={`ns:${route.name}`} name={route.name} />;
    case "new-namespace":
      return <NamespacePage key="new" />;
    case "backends":
      return <BackendsPage />;
    case "traffic":
      return <TrafficPage />;
    case "migrations":
      return route.name ? <MigrationPage key={route.name} name={route.name} /> : <MigrationsListPage />;
    case "audit":
      return <AuditPage />;
  }
}
