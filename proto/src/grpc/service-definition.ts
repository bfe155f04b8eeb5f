import {
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { FAST_CODECS } from "./fast-codec.js";

type AnyMessage = MessageShape<DescMessage>;

/**
 * Builds a grpc-js service definition from a protobuf-es service descriptor, so servers and
 * clients serialize with the generated schemas and nothing is loaded from .proto files at run time.
 *
 * @example server.addService(grpcServiceDefinition(KeyValueService), handlers)
 */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<AnyMessage, AnyMessage>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition as ServiceDefinition;
}

/**
 * Encodes a message into a Buffer that shares memory with the encoded bytes (no copy), with the
 * message's hand-written codec when it has one (`FAST_CODECS`).
 */
export function serializer<Desc extends DescMessage>(schema: Desc): (message: MessageShape<Desc>) => Buffer {
  const fast = FAST_CODECS.get(schema.typeName)?.encode as
    | ((message: MessageShape<Desc>) => Uint8Array)
    | undefined;
  return (message) => {
    const bytes = fast ? fast(message) : toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Decodes a Buffer into a message of `schema` (with its hand-written codec when it has one). */
export function deserializer<Desc extends DescMessage>(schema: Desc): (bytes: Buffer) => MessageShape<Desc> {
  const fast = FAST_CODECS.get(schema.typeName)?.decode as
    | ((bytes: Uint8Array) => MessageShape<Desc>)
    | undefined;
  return fast ?? ((bytes) => fromBinary(schema, bytes));
}
