import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { createPromiseClient, errorDetails } from "@prism/proto/grpc";
import { Health } from "@prism/proto/grpc/health/v1/health";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { ServiceSet } from "./serve.js";

/** Methods a service leaves out answer UNIMPLEMENTED (NOT_IMPLEMENTED) through the pipeline. */
describe("ServiceSet", () => {
  const server = new Server();
  let address = "";

  beforeAll(async () => {
    const services = new ServiceSet(server, [], createLogger("silent"));
    services.serve(AdminService, {
      listNamespaces: async () => ({ $typeName: "prism.admin.v1.ListNamespacesResponse", namespaces: [] }),
    });
    services.serve(Health, {
      async *watch() {
        yield { $typeName: "grpc.health.v1.HealthCheckResponse", status: 1 };
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => server.forceShutdown());

  it("answers a method the implementation leaves out with UNIMPLEMENTED and serves the rest", async () => {
    const admin = createPromiseClient(AdminService, { address });
    try {
      expect((await admin.listNamespaces({})).namespaces).toEqual([]);
      const failure = await admin.startShadow({}).then(
        () => undefined,
        (error) => error,
      );
      expect(failure?.code).toBe(status.UNIMPLEMENTED);
      expect(errorDetails(failure).reason).toBe("NOT_IMPLEMENTED");
    } finally {
      admin.close();
    }
  });

  it("answers a request that does not decode with INVALID_ARGUMENT (MALFORMED_REQUEST), not INTERNAL", async () => {
    const client = new Client(address, credentials.createInsecure());
    const identity = (bytes: Buffer) => bytes;
    // Field 1, length-delimited, length 127 with one byte following: truncated.
    const truncated = Buffer.from([0x0a, 0x7f, 0x41]);
    try {
      const unary = await new Promise<ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          "/prism.admin.v1.AdminService/ListNamespaces",
          identity,
          identity,
          truncated,
          new Metadata(),
          {},
          (error) => resolve(error),
        ),
      );
      expect(unary?.code).toBe(status.INVALID_ARGUMENT);
      expect(errorDetails(unary!).reason).toBe("MALFORMED_REQUEST");

      const stream = client.makeServerStreamRequest(
        "/grpc.health.v1.Health/Watch",
        identity,
        identity,
        truncated,
      );
      const streamed = await new Promise<ServiceError>((resolve) => stream.on("error", resolve));
      expect(streamed.code).toBe(status.INVALID_ARGUMENT);
      expect(errorDetails(streamed).reason).toBe("MALFORMED_REQUEST");
    } finally {
      client.close();
    }
  });
});
