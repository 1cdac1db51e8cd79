/**
 * The gRPC runtime and the EventStoreDB message classes, loaded from inside
 * @eventstore/db-client. The client's service definitions only serialize
 * instances of their own message classes, and they only plug into a server
 * from the same @grpc/grpc-js the client resolves, so the stand-in takes both
 * from the client's own directory rather than from wherever it is imported.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type * as StreamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type * as StatusPb from '@eventstore/db-client/generated/status_pb.js';
import type * as CodePb from '@eventstore/db-client/generated/code_pb.js';
import type * as ServerFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type * as ServerFeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import type * as AnyPb from 'google-protobuf/google/protobuf/any_pb.js';
import type * as EmptyPb from 'google-protobuf/google/protobuf/empty_pb.js';

const clientRoot = path.dirname(createRequire(import.meta.url).resolve('@eventstore/db-client/package.json'));
const fromClient = createRequire(path.join(clientRoot, 'package.json'));

export const grpc = fromClient('@grpc/grpc-js') as typeof GrpcJs;
export const streamsPb = fromClient('./generated/streams_pb.js') as typeof StreamsPb;
export const streamsGrpc = fromClient('./generated/streams_grpc_pb.js') as typeof StreamsGrpc;
export const sharedPb = fromClient('./generated/shared_pb.js') as typeof SharedPb;
export const statusPb = fromClient('./generated/status_pb.js') as typeof StatusPb;
export const codePb = fromClient('./generated/code_pb.js') as typeof CodePb;
export const serverFeaturesPb = fromClient('./generated/serverfeatures_pb.js') as typeof ServerFeaturesPb;
export const serverFeaturesGrpc = fromClient('./generated/serverfeatures_grpc_pb.js') as typeof ServerFeaturesGrpc;
export const anyPb = fromClient('google-protobuf/google/protobuf/any_pb.js') as typeof AnyPb;
export const emptyPb = fromClient('google-protobuf/google/protobuf/empty_pb.js') as typeof EmptyPb;
