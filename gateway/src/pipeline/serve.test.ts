import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { createPromiseClient, errorDetails } from "@prism/proto/grpc";
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
});
