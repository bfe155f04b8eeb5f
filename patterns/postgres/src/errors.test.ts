import { type ErrorKind, PrismError } from "@prism/core";
import { DatabaseError } from "pg";
import { describe, expect, it } from "vitest";
import { breaksConnection, toPrismError } from "./errors.js";

/** A server error as pg builds it, with a message that must never reach a client. */
function serverError(code: string, severity = "ERROR"): DatabaseError {
  const error = new DatabaseError(
    `secret driver text: SELECT * FROM t WHERE pw = 'hunter2' (${code})`,
    0,
    "error",
  );
  error.code = code;
  error.severity = severity;
  return error;
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432 hunter2`), { code });
}

describe("toPrismError", () => {
  const cases: [string, unknown, ErrorKind][] = [
    ["connection refused", socketError("ECONNREFUSED"), "Unavailable"],
    ["connection reset", socketError("ECONNRESET"), "Unavailable"],
    ["pool connect timeout", new Error("timeout exceeded when trying to connect"), "Unavailable"],
    ["connect timeout", new Error("Connection terminated due to connection timeout"), "Unavailable"],
    ["connection lost under a query", new Error("Connection terminated unexpectedly"), "Unavailable"],
    ["refused on every address", new AggregateError([socketError("ECONNREFUSED")]), "Unavailable"],
    ["admin shutdown 57P01", serverError("57P01", "FATAL"), "Unavailable"],
    ["cannot connect now 57P03", serverError("57P03", "FATAL"), "Unavailable"],
    ["connection failure 08006", serverError("08006"), "Unavailable"],
    ["statement timeout 57014", serverError("57014"), "DeadlineExceeded"],
    ["too many connections 53300", serverError("53300", "FATAL"), "ResourceExhausted"],
    ["disk full 53100", serverError("53100"), "ResourceExhausted"],
    ["deadlock 40P01", serverError("40P01"), "Conflict"],
    ["serialization failure 40001", serverError("40001"), "Conflict"],
    ["index row too large 54000", serverError("54000"), "InvalidArgument"],
    ["undefined table 42P01", serverError("42P01"), "Internal"],
    ["bad password 28P01", serverError("28P01", "FATAL"), "Internal"],
    ["a bug", new TypeError("x is undefined"), "Internal"],
    ["not even an error", "boom", "Internal"],
  ];

  it.each(cases)("%s → %s, keeping the driver error as cause and out of the message", (_, error, kind) => {
    const mapped = toPrismError(error, "pg-main");
    expect(mapped.kind).toBe(kind);
    expect(mapped.cause).toBe(error);
    expect(mapped.message).toMatch(/^backend pg-main |^the request exceeds a limit of backend pg-main$/);
    expect(`${mapped.message} ${JSON.stringify(mapped.metadata)}`).not.toMatch(/hunter2|SELECT|secret/);
  });

  it("passes a PrismError through unchanged", () => {
    const error = new PrismError("DeadlineExceeded", "deadline exceeded");
    expect(toPrismError(error, "pg-main")).toBe(error);
  });
});

describe("breaksConnection", () => {
  it("keeps a session after an ordinary SQL error and drops it after anything else", () => {
    expect(breaksConnection(serverError("23505"))).toBe(false);
    expect(breaksConnection(serverError("57014"))).toBe(false);
    expect(breaksConnection(serverError("57P01", "FATAL"))).toBe(true);
    expect(breaksConnection(serverError("08006"))).toBe(true);
    expect(breaksConnection(socketError("ECONNRESET"))).toBe(true);
    expect(breaksConnection(new PrismError("DeadlineExceeded", "deadline exceeded"))).toBe(true);
  });
});
