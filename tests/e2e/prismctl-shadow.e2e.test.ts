import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { eventually } from "../support/gateway-launch.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";

/**
 * prismctl's shadow-traffic commands end to end (DESIGN §7): a KeyValue namespace moves from a
 * memory backend to SQLite — verify finds the gap, a backfill closes it, compared reads match,
 * promote and roll back swap the backends, stop ends it — plus usage errors and a cancelled backfill.
 */
const REPO = resolve(import.meta.dirname, "../..");
const NS = "move-kv";
/** A second namespace for slow backfills that are cancelled or left to run. */
const SLOW = "slow-kv";
const RECORDS = 200;

type Kv = PromiseClient<typeof KeyValueService.method> & { close(): void };
type Admin = PromiseClient<typeof AdminService.method> & { close(): void };

let gateway: GatewayProcess;
let kv: Kv;
let admin: Admin;

function prismctl(...args: string[]) {
  return runPrismctl(gateway.address, args);
}

/** The number before or after `label` in prismctl's text, e.g. `200` in "200 missing". */
function number(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  if (!match) throw new Error(`${pattern} not in:\n${text}`);
  return Number(match[1]!.replaceAll(",", ""));
}

const expectedValue = (i: number) => `value-${i}`;

async function valuesOf(namespace: string, ids: number[]): Promise<string[]> {
  return Promise.all(
    ids.map(async (i) => {
      const { items } = await kv.get({ namespace, id: `rec-${i}` });
      return items.map((item) => s(item.value)).join();
    }),
  );
}

async function fill(namespace: string): Promise<void> {
  for (let start = 0; start < RECORDS; start += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        kv.put({
          namespace,
          id: `rec-${start + k}`,
          items: [{ key: new Uint8Array(), value: b(expectedValue(start + k)) }],
        }),
      ),
    );
  }
}

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { mem: { type: "memory" }, lite: { type: "sqlite", path: "shadow.db" } },
  });
  admin = createPromiseClient(AdminService, { address: gateway.address });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
  // Config-file namespaces are read-only: shadow traffic needs applied ones.
  for (const name of [NS, SLOW]) {
    await admin.applyNamespace({
      spec: { case: "yaml", value: `name: ${name}\npattern: keyvalue\nbackend: mem\n` },
    });
    await fill(name);
  }
});
afterAll(async () => {
  admin?.close();
  kv?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

// Every prismctl call is a fresh tsx process: seconds each on a loaded machine.
describe("prismctl shadow and backfill", { timeout: 180_000 }, () => {
  it("starts a shadow; verify counts every record missing and fails", async () => {
    const started = await prismctl("shadow", "start", NS, "--backend", "lite");
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(
      /^shadow started: move-kv v\d+: primary mem, shadow lite \(dual-write, sample rate 1\)$/m,
    );

    const verify = await prismctl("shadow", "verify", NS);
    expect(verify.code).toBe(1);
    expect(number(verify.stdout, /(\d[\d,]*) examined/)).toBe(RECORDS);
    expect(number(verify.stdout, /(\d[\d,]*) missing/)).toBe(RECORDS);
    expect(number(verify.stdout, /(\d[\d,]*) differing/)).toBe(0);
    expect(number(verify.stdout, /(\d[\d,]*) extra/)).toBe(0);
    expect(verify.stdout).toMatch(/^ {2}rec-\d+\t/m);
    expect(verify.stderr).toContain(`error: ${RECORDS} differences between primary and shadow`);
  });

  it("backfills every record, after which verify finds no difference", async () => {
    const backfill = await prismctl("backfill", "start", NS, "--rate", "1000");
    expect(backfill.code).toBe(0);
    const id = /^backfill (\S+) started/m.exec(backfill.stdout)?.[1];
    expect(id).toBeDefined();
    // Not a terminal: no live line, only the summary.
    expect(backfill.stdout).not.toContain("\r");
    expect(number(backfill.stdout, /SUCCEEDED: (\d[\d,]*)\/\d/)).toBe(RECORDS);
    expect(number(backfill.stdout, /\/(\d[\d,]*) records copied/)).toBe(RECORDS);
    expect(number(backfill.stdout, /(\d[\d,]*) skipped/)).toBe(0);

    const status = await prismctl("backfill", "status", id!);
    expect(status.stdout).toMatch(new RegExp(`^${id} SUCCEEDED: 200/200 records copied`));

    const verify = await prismctl("shadow", "verify", NS);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`verified ${NS}: ${RECORDS} examined, 0 missing, 0 differing, 0 extra`);
    expect(verify.stdout).toContain("primary and shadow hold the same data");
  });

  it("compares sampled reads in shadow-read mode and reports them in status", async () => {
    const mode = await prismctl("shadow", "mode", NS, "shadow-read", "--sample-rate", "1");
    expect(mode.stdout).toMatch(/shadow lite \(shadow-read, sample rate 1\)/);
    expect(await valuesOf(NS, [0, 1, 2, 3, 4])).toEqual([0, 1, 2, 3, 4].map(expectedValue));

    // Each gateway publishes its counters every second.
    let text = "";
    await eventually(
      async () => {
        text = (await prismctl("shadow", "status", NS)).stdout;
        return number(text, /^reads: +(\d[\d,]*) matched/m) > 0;
      },
      60_000,
      200,
    );
    expect(number(text, /(\d[\d,]*) mismatched/)).toBe(0);
    expect(text).toMatch(/^primary: +mem$/m);
    expect(text).toMatch(/^shadow: +lite$/m);
    expect(text).toMatch(/^mode: +shadow-read, sample rate 1$/m);
    expect(text).toMatch(/^gateway \S+ serves v\d+ .*: writes \d+ ok, 0 failed, 0 dropped/m);
    expect(text).toMatch(/^backfill: +\S+ SUCCEEDED: 200\/200 records copied/m);
    expect(text).toMatch(/^verify: +200 examined, 0 missing, 0 differing, 0 extra at /m);
    expect(text).toMatch(/^mismatches: none recently$/m);

    const json = JSON.parse((await prismctl("shadow", "status", NS, "--json")).stdout);
    expect(json).toMatchObject({
      primaryBackend: "mem",
      shadow: { backend: "lite", mode: "SHADOW_MODE_SHADOW_READ" },
    });
    expect(Number(json.totals.readsMatched)).toBeGreaterThan(0);
    expect(json.backfill.state).toBe("BACKFILL_STATE_SUCCEEDED");
  });

  it("promotes the shadow, serves the same values, rolls back and stops", async () => {
    const promoted = await prismctl("shadow", "promote", NS);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toMatch(
      /^promoted: move-kv v\d+: primary lite, shadow mem \(dual-write, sample rate 1\)$/m,
    );
    expect(await valuesOf(NS, [0, 57, 199])).toEqual([0, 57, 199].map(expectedValue));
    // Written to lite now, mirrored to mem: still there after the rollback.
    await kv.put({
      namespace: NS,
      id: "rec-new",
      items: [{ key: new Uint8Array(), value: b("after promote") }],
    });

    const rolledBack = await prismctl("shadow", "rollback", NS);
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stdout).toMatch(/^rolled back: move-kv v\d+: primary mem, shadow lite/m);
    expect(s((await kv.get({ namespace: NS, id: "rec-new" })).items[0]!.value)).toBe("after promote");

    const stopped = await prismctl("shadow", "stop", NS);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/move-kv v\d+: primary mem, no shadow$/m);
    expect(await valuesOf(NS, [3, 150])).toEqual([3, 150].map(expectedValue));
    const status = await prismctl("shadow", "status", NS);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("(SHADOW_NOT_CONFIGURED)");
  });

  it("refuses bad input with a usage message (exit 2) and names a missing backfill (exit 3)", async () => {
    const mode = await prismctl("shadow", "mode", NS, "mirror");
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('MODE: dual-write, shadow-read or read-shadow (not "mirror")');
    const rate = await prismctl("shadow", "mode", NS, "shadow-read", "--sample-rate", "2");
    expect(rate.code).toBe(2);
    expect(rate.stderr).toContain('--sample-rate: a number from 0 to 1 (not "2")');
    const noBackend = await prismctl("shadow", "start", NS);
    expect(noBackend.code).toBe(2);
    expect(noBackend.stderr).toContain("--backend: required");
    const badRate = await prismctl("backfill", "start", NS, "--rate", "0");
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toContain('--rate: a whole number from 1 to 4,294,967,295 (not "0")');

    const missing = await prismctl("backfill", "status", "nope");
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      'error: no backfill job "nope" (BACKFILL_NOT_FOUND)\n' +
        "hint: `prismctl backfill start` prints a job's id; `prismctl shadow status NAMESPACE` shows the newest\n",
    );
  });

  it("cancels a slow backfill started with --detach", async () => {
    expect((await prismctl("shadow", "start", SLOW, "--backend", "lite")).code).toBe(0);
    const started = await prismctl("backfill", "start", SLOW, "--rate", "5", "--detach");
    expect(started.code).toBe(0);
    const id = /^backfill (\S+) started/m.exec(started.stdout)![1]!;
    expect(started.stdout).toContain(`follow it with: prismctl backfill status ${id} --watch`);

    const cancelled = await prismctl("backfill", "cancel", id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^${id} CANCELLED: `));
    const status = await prismctl("backfill", "status", id);
    expect(status.stdout).toMatch(new RegExp(`^${id} CANCELLED: `));
    expect(number(status.stdout, /: (\d[\d,]*)(?:\/\d[\d,]*)? records copied/)).toBeLessThan(RECORDS);
    // Watching a job that ended that way fails like following it would.
    const watched = await prismctl("backfill", "status", id, "--watch");
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain(`error: backfill ${id} CANCELLED`);
  });

  it("stops following a backfill on Ctrl-C, leaving it running", async () => {
    const child = spawn(
      resolve(REPO, "node_modules/.bin/tsx"),
      [
        resolve(REPO, "prismctl/src/main.ts"),
        "--addr",
        gateway.address,
        "backfill",
        "start",
        SLOW,
        "--rate",
        "5",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    await eventually(async () => out.includes(" started"), 60_000, 100);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const id = /^backfill (\S+) started/m.exec(out)![1]!;
    expect(out).toContain(`stopped following; backfill ${id} keeps running`);
    expect(out).toContain(`check on it: prismctl backfill status ${id} --watch`);
    // The job cancelled by the test before left a checkpoint, which this one continued from.
    expect(out).toMatch(
      /continuing from the checkpoint of \S+ \(\d+ records copied\); --from-scratch copies everything/,
    );

    expect((await prismctl("backfill", "status", id)).stdout).toMatch(new RegExp(`^${id} RUNNING: `));
    expect((await prismctl("backfill", "cancel", id)).stdout).toMatch(new RegExp(`^${id} CANCELLED: `));
  });
});
