import { Metadata } from "@grpc/grpc-js";
import { isPrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { ANONYMOUS, type EndHook, type RequestContext } from "../context.js";
import { createLogger } from "../log.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";
import { softDeadline } from "../services/soft-deadline.js";
import { deadline, mayAccess, telemetry } from "./interceptors.js";
import { compose, type Interceptor, type MethodInfo } from "./pipeline.js";

const info = { path: "test.Service/Stream", method: { methodKind: "server_streaming" } } as MethodInfo;
const unaryInfo = { path: "test.Service/Unary", method: { methodKind: "unary" } } as MethodInfo;
const logger = createLogger("silent");

/** A context whose end hooks run when `end` is called, as the server runs them. */
function context(clientDeadline = Number.POSITIVE_INFINITY): RequestContext & { end(error?: unknown): void } {
  const hooks: EndHook[] = [];
  return {
    method: info.path,
    metadata: new Metadata(),
    signal: new AbortController().signal,
    deadline: clientDeadline,
    principal: ANONYMOUS,
    logger,
    onEnd: (hook) => hooks.push(hook),
    end(error?: unknown) {
      for (const hook of hooks.reverse()) hook(this, error);
    },
  };
}

const noCancel = () => () => undefined;
const settings = { defaultDeadlineMs: 1_000, maxDeadlineMs: 60_000 };

describe("compose", () => {
  it("runs interceptors in the order listed, around the handler", async () => {
    const order: string[] = [];
    const step =
      (name: string): Interceptor =>
      (next) =>
      async (request, ctx) => {
        order.push(`${name}>`);
        const result = await next(request, ctx);
        order.push(`<${name}`);
        return result;
      };
    const chain = compose([step("a"), step("b")], async () => order.push("handler"), info);
    await chain({}, context());
    expect(order).toEqual(["a>", "b>", "handler", "<b", "<a"]);
  });
});

describe("deadline", () => {
  const observed = async (ctx: RequestContext) => {
    const chain = compose([deadline(settings, noCancel)], async (_, c) => c.deadline, info);
    return (await chain({}, ctx)) as number;
  };

  it("applies the default when the client sets none", async () => {
    const before = Date.now();
    const result = await observed(context());
    expect(result - before).toBeGreaterThanOrEqual(1_000);
    expect(result - before).toBeLessThan(1_000 + 1_000);
  });

  it("honours a client deadline longer than the default, up to the cap", async () => {
    const wanted = Date.now() + 20_000;
    expect(await observed(context(wanted))).toBe(wanted);
    const capped = await observed(context(Date.now() + 3_600_000));
    expect(capped - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it("fires the signal at the deadline and on a client cancel", async () => {
    const cancelled = compose(
      [
        deadline(settings, (_, cancel) => {
          setTimeout(cancel, 5);
          return () => undefined;
        }),
      ],
      (_, ctx) =>
        new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason))),
      info,
    );
    expect(((await cancelled({}, context())) as Error).name).toBe("AbortError");
    const timedOut = compose(
      [deadline(settings, noCancel)],
      (_, ctx) =>
        new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason))),
      info,
    );
    expect(((await timedOut({}, context(Date.now() + 5))) as Error).name).toBe("TimeoutError");
  });

  it("releases its timer and cancel listener when the call ends", async () => {
    let released = 0;
    const fired: unknown[] = [];
    const chain = compose(
      [deadline({ defaultDeadlineMs: 20, maxDeadlineMs: 20 }, () => () => released++)],
      async (_, ctx) => {
        ctx.signal.addEventListener("abort", () => fired.push(ctx.signal.reason));
        return "done";
      },
      info,
    );
    const ctx = context();
    expect(await chain({}, ctx)).toBe("done");
    ctx.end();
    expect(released).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fired).toEqual([]);
  });
});

describe("deadline of unary calls", () => {
  const chain = compose([deadline(settings, noCancel)], async (_, ctx) => ctx, unaryInfo);

  it("shares one signal among calls whose deadlines fall in the same 10 ms slot", async () => {
    const at = Math.ceil(Date.now() / 10) * 10 + 5_000;
    const a = (await chain({}, context(at + 1))) as RequestContext;
    const b = (await chain({}, context(at + 9))) as RequestContext;
    const c = (await chain({}, context(at + 11))) as RequestContext;
    expect(a.signal).toBe(b.signal);
    expect(a.signal).not.toBe(c.signal);
    expect(a.deadline).toBe(at + 1);
  });

  it("fires no earlier than the deadline, as a timeout", async () => {
    const due = Date.now() + 30;
    const ctx = (await chain({}, context(due))) as RequestContext;
    const reason = await new Promise<unknown>((resolve) =>
      ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason)),
    );
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect((reason as Error).name).toBe("TimeoutError");
  });
});

describe("mayAccess", () => {
  const namespace = (access?: ResolvedNamespace["spec"]["access"]) =>
    ({
      spec: { name: "ns", pattern: "keyvalue", backend: "b", ...(access && { access }) },
    }) as ResolvedNamespace;
  const alice = { subject: "alice", groups: ["readers"] };

  it("admits everyone to a namespace without access lists", () => {
    expect(mayAccess(namespace(), "write", ANONYMOUS)).toBe(true);
  });

  it("admits only listed users, services and groups once lists are declared", () => {
    const ns = namespace({ read: ["group:readers"], write: ["user:bob", "service:alice"], pii: [] });
    expect(mayAccess(ns, "read", alice)).toBe(true);
    expect(mayAccess(ns, "write", alice)).toBe(true);
    expect(mayAccess(ns, "read", { subject: "bob", groups: [] })).toBe(false);
    expect(mayAccess(ns, "write", { subject: "bob", groups: [] })).toBe(true);
    expect(mayAccess(ns, "read", ANONYMOUS)).toBe(false);
    expect(mayAccess(namespace({ read: [], write: [], pii: [] }), "read", alice)).toBe(false);
  });
});

describe("softDeadline", () => {
  it("keeps a fifth of the time left, between 10 ms and 1 s", () => {
    expect(softDeadline(1_000, 0)).toBe(800);
    expect(softDeadline(30, 0)).toBe(20);
    expect(softDeadline(60_000, 0)).toBe(59_000);
  });
});

describe("telemetry", () => {
  it("records failures when the call ends, leaving the error to the caller unchanged", async () => {
    const lines: string[] = [];
    const capture = createLogger("debug", { write: (line: string) => lines.push(line) });
    const chain = compose(
      [telemetry()],
      async () => {
        throw new Error("driver text");
      },
      info,
    );
    const ctx = { ...context(), logger: capture };
    const error = await chain({}, ctx).catch((e: unknown) => e);
    expect(isPrismError(error)).toBe(false);
    expect(lines).toEqual([]);
    ctx.end(error);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(lines.join("")).toContain('"reason":"INTERNAL"');
  });
});
