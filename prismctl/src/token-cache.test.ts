import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  configDir,
  readSettings,
  readTokens,
  removeTokens,
  tokenFile,
  withRefreshLock,
  writeSettings,
  writeTokens,
} from "./token-cache.js";

let home: string;
let dir: string;
const ISSUER = "https://login.example.com/realms/prism";
const tokens = {
  issuer: ISSUER,
  clientId: "prismctl",
  accessToken: "a.b.c",
  refreshToken: "r1",
  expiresAt: 2e9,
};

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "prismctl-cache-"));
  dir = configDir({ XDG_CONFIG_HOME: home });
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

describe("token cache", () => {
  it("lives under XDG_CONFIG_HOME/prism, else ~/.config/prism", () => {
    expect(configDir({ XDG_CONFIG_HOME: "/x" })).toBe("/x/prism");
    expect(configDir({ HOME: "/home/u" })).toBe("/home/u/.config/prism");
  });

  it("writes tokens 0600 in 0700 directories and reads them back", () => {
    const path = writeTokens(dir, tokens);
    expect(path).toBe(tokenFile(dir, ISSUER));
    expect(mode(path)).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "tokens"))).toBe(0o700);
    expect(readTokens(dir, ISSUER)).toEqual(tokens);
    expect(readTokens(dir, "https://other.example.com")).toBeUndefined();
    // Replaced by rename: no temporary file is left behind.
    writeTokens(dir, { ...tokens, accessToken: "d.e.f" });
    expect(readdirSync(join(dir, "tokens"))).toHaveLength(1);
    expect(readTokens(dir, ISSUER)?.accessToken).toBe("d.e.f");
  });

  it("tightens a directory that others could read", () => {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    writeTokens(dir, tokens);
    expect(mode(dir)).toBe(0o700);
  });

  it("ignores a file that is not one of its own and refuses one that is too large", () => {
    writeTokens(dir, tokens);
    const path = tokenFile(dir, ISSUER);
    writeFileSync(path, "{not json");
    expect(readTokens(dir, ISSUER)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ ...tokens, issuer: "https://evil.example.com" }));
    expect(readTokens(dir, ISSUER)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ ...tokens, expiresAt: "soon" }));
    expect(readTokens(dir, ISSUER)).toBeUndefined();
    writeFileSync(path, "x".repeat(70_000));
    expect(() => readTokens(dir, ISSUER)).toThrow(/larger than/);
  });

  it("removes an issuer's tokens and says whether there were any", () => {
    writeTokens(dir, tokens);
    expect(removeTokens(dir, ISSUER)).toBe(true);
    expect(readTokens(dir, ISSUER)).toBeUndefined();
    expect(removeTokens(dir, ISSUER)).toBe(false);
  });

  it("keeps the issuer and client id of the last login, 0600", () => {
    expect(readSettings(dir)).toEqual({});
    writeSettings(dir, { issuer: ISSUER, clientId: "prismctl" });
    expect(mode(join(dir, "prismctl.yaml"))).toBe(0o600);
    expect(readSettings(dir)).toEqual({ issuer: ISSUER, clientId: "prismctl" });
  });

  it("lets one refresh run at a time per issuer and clears a lock left by a dead process", async () => {
    const events: string[] = [];
    const refresh = (name: string) =>
      withRefreshLock(dir, ISSUER, async () => {
        events.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name} out`);
        return name;
      });
    expect(await Promise.all([refresh("a"), refresh("b")])).toEqual(["a", "b"]);
    expect(events).toEqual(["a in", "a out", "b in", "b out"]);
    const lock = `${tokenFile(dir, ISSUER)}.lock`;
    expect(existsSync(lock)).toBe(false);

    writeFileSync(lock, "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await withRefreshLock(dir, ISSUER, async () => "after a stale lock")).toBe("after a stale lock");
    expect(existsSync(lock)).toBe(false);
  });
});
