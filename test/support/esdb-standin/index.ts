/**
 * A small in-memory EventStoreDB for tests: a real gRPC server speaking the
 * protocol @eventstore/db-client speaks, so the real adapter and the real
 * client run against it unchanged. It implements ServerFeatures and the parts
 * of Streams the adapter uses: Append and BatchAppend (with expected versions,
 * idempotent repeats and the 1 MiB append limit), Read of a stream and of $all
 * forwards and backwards with stream-name or event-type filters, and catch-up
 * subscriptions to $all that go live. It behaves like a 23.10-or-later node
 * (positions on stream reads, invalid-position errors, a caught-up message).
 * Everything else answers UNIMPLEMENTED. See docs/eventstoredb.md.
 */
import { randomUUID } from 'node:crypto';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type * as StatusPb from '@eventstore/db-client/generated/status_pb.js';
import type * as ServerFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import {
  ANY,
  type AllFrom,
  type AppendOutcome,
  type EventFilter,
  InvalidPositionError,
  NO_STREAM,
  type ProposedEvent,
  STREAM_EXISTS,
  StandInLog,
  type StoredEvent,
  matches,
} from './log.ts';
import {
  anyPb,
  codePb,
  emptyPb,
  grpc,
  serverFeaturesGrpc,
  serverFeaturesPb,
  sharedPb,
  statusPb,
  streamsGrpc,
  streamsPb,
} from './protocol.ts';

export { StandInLog } from './log.ts';

/** The server's default MaxAppendSize. */
const MAX_APPEND_SIZE = 1_048_576;
/** Events a filtered subscription looks at between checkpoints, per unit of the client's multiplier. */
const CHECKPOINT_WINDOW = 32;
const SERVER_VERSION = '23.10.0';
const U64_MAX = 2n ** 64n - 1n;

export interface StandInOptions {
  /** Listen here instead of on an ephemeral port, e.g. to come back where a client already points. */
  port?: number;
  /** Keep the events of an earlier stand-in, as a restarted node would. */
  log?: StandInLog;
  /** Advertise BatchAppend, as servers since 21.10 do; without it the client appends with Append. */
  batchAppend?: boolean;
}

export interface StandIn {
  url: string;
  port: number;
  log: StandInLog;
  stop(): Promise<void>;
}

type ReadCall = GrpcJs.ServerWritableStream<StreamsPb.ReadReq, StreamsPb.ReadResp>;
type AppendCall = GrpcJs.ServerReadableStream<StreamsPb.AppendReq, StreamsPb.AppendResp>;
type BatchAppendCall = GrpcJs.ServerDuplexStream<StreamsPb.BatchAppendReq, StreamsPb.BatchAppendResp>;

/** A gRPC error as the server raises it, with the `exception` trailer the client maps to typed errors. */
function rpcError(code: GrpcJs.status, details: string, trailers: Record<string, string> = {}): GrpcJs.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

function maxAppendSizeError(): GrpcJs.ServiceError {
  return rpcError(grpc.status.INVALID_ARGUMENT, `Maximum Append Size of ${MAX_APPEND_SIZE} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(MAX_APPEND_SIZE),
  });
}

function streamName(identifier: { getStreamName_asU8(): Uint8Array } | undefined): string {
  if (!identifier) throw rpcError(grpc.status.INVALID_ARGUMENT, 'stream identifier is required');
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

/** Approximates the server's Event.SizeOnDisk, which MaxAppendSize is measured in. */
function appendSize(event: ProposedEvent): number {
  return event.data.length + event.metadata.length + event.type.length * 2;
}

function proposedEvent(
  message: StreamsPb.AppendReq.ProposedMessage | StreamsPb.BatchAppendReq.ProposedMessage,
): ProposedEvent {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  const missing = [type === undefined && 'type', contentType === undefined && 'content-type'].filter(Boolean);
  if (type === undefined || contentType === undefined) {
    throw rpcError(grpc.status.INVALID_ARGUMENT, `missing required metadata: ${missing.join(',')}`, {
      exception: 'missing-required-metadata-property',
      'required-metadata-properties': missing.join(','),
    });
  }
  return {
    id: message.getId()!.getString(),
    type,
    contentType,
    data: message.getData_asU8(),
    metadata: message.getCustomMetadata_asU8(),
  };
}

function readEvent(event: StoredEvent): StreamsPb.ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(new sharedPb.UUID().setString(event.id))
    .setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(event.stream, 'utf8')))
    .setStreamRevision(event.revision.toString())
    .setCommitPosition(event.position.toString())
    .setPreparePosition(event.position.toString())
    .setData(event.data)
    .setCustomMetadata(event.metadata);
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('created', event.created.toString())
    .set('content-type', event.contentType);
  const read = new streamsPb.ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(event.position.toString());
  return new streamsPb.ReadResp().setEvent(read);
}

/** Writes one message, waiting while the client is not reading (or until the call ends). */
function send<T>(call: GrpcJs.ServerWritableStream<unknown, T> | GrpcJs.ServerDuplexStream<unknown, T>, message: T) {
  if (call.write(message)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

function readFilter(options: StreamsPb.ReadReq.Options): EventFilter | undefined {
  const filter = options.getFilter();
  if (!filter) return undefined;
  const FilterCase = streamsPb.ReadReq.Options.FilterOptions.FilterCase;
  const on = filter.getFilterCase() === FilterCase.STREAM_IDENTIFIER ? 'stream' : 'type';
  const expression = on === 'stream' ? filter.getStreamIdentifier()! : filter.getEventType()!;
  // The server tests a regex with .NET's Regex.IsMatch; JS RegExp agrees for the patterns clients send.
  if (expression.getRegex()) return { on, regex: new RegExp(expression.getRegex()) };
  return { on, prefixes: expression.getPrefixList() };
}

function allFrom(all: StreamsPb.ReadReq.Options.AllOptions): AllFrom {
  const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
  if (all.getAllOptionCase() === Case.START) return 'start';
  if (all.getAllOptionCase() === Case.END) return 'end';
  const commit = BigInt(all.getPosition()!.getCommitPosition());
  return commit === U64_MAX ? 'end' : commit;
}

function createHandlers(log: StandInLog, withBatchAppend: boolean) {
  async function read(call: ReadCall): Promise<void> {
    let cancelled = false;
    const cancels = new Set<() => void>();
    call.on('cancelled', () => {
      cancelled = true;
      for (const cancel of cancels) cancel();
    });
    const options = call.request.getOptions();
    try {
      if (!options) throw rpcError(grpc.status.INVALID_ARGUMENT, 'read options are required');
      const StreamCase = streamsPb.ReadReq.Options.StreamOptionCase;
      const subscription = options.hasSubscription();
      const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
      const filter = readFilter(options);

      if (options.getStreamOptionCase() === StreamCase.STREAM) {
        if (subscription) throw rpcError(grpc.status.UNIMPLEMENTED, 'the stand-in has no stream subscriptions');
        if (filter) throw rpcError(grpc.status.INVALID_ARGUMENT, 'stream reads take no filter');
        const stream = options.getStream()!;
        const name = streamName(stream.getStreamIdentifier());
        const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
        const from =
          stream.getRevisionOptionCase() === Case.START
            ? 'start'
            : stream.getRevisionOptionCase() === Case.END
              ? 'end'
              : BigInt(stream.getRevision());
        const events = log.readStream(name, from, backwards, BigInt(options.getCount()));
        if (!events) {
          const identifier = new sharedPb.StreamIdentifier().setStreamName(Buffer.from(name, 'utf8'));
          await send(
            call,
            new streamsPb.ReadResp().setStreamNotFound(
              new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(identifier),
            ),
          );
        }
        for (const event of events ?? []) {
          if (cancelled) return;
          await send(call, readEvent(event));
        }
        call.end();
        return;
      }

      const from = allFrom(options.getAll()!);
      if (!subscription) {
        for (const event of log.readAll(from, backwards, BigInt(options.getCount()), filter)) {
          if (cancelled) return;
          await send(call, readEvent(event));
        }
        call.end();
        return;
      }

      // Catch-up subscription: after `from` (exclusive), then live until cancelled.
      let index = log.indexOf(from);
      if (typeof from === 'bigint' && log.at(index)?.position === from) index += 1;
      await send(
        call,
        new streamsPb.ReadResp().setConfirmation(
          new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID()),
        ),
      );
      const filterOptions = options.getFilter();
      const window = filterOptions?.hasMax() ? filterOptions.getMax() : CHECKPOINT_WINDOW;
      const checkpointEvery = filter
        ? window * Math.max(1, filterOptions!.getCheckpointintervalmultiplier())
        : Infinity;
      let considered = 0;
      let caughtUp = false;
      while (!cancelled) {
        if (index < log.length) {
          const event = log.at(index++)!;
          if (matches(filter, event)) await send(call, readEvent(event));
          if (++considered >= checkpointEvery) {
            considered = 0;
            const checkpoint = new streamsPb.ReadResp.Checkpoint()
              .setCommitPosition(event.position.toString())
              .setPreparePosition(event.position.toString());
            await send(call, new streamsPb.ReadResp().setCheckpoint(checkpoint));
          }
          continue;
        }
        if (!caughtUp) {
          caughtUp = true;
          await send(call, new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp()));
          continue;
        }
        const next = log.appended();
        cancels.add(next.cancel);
        await next.promise;
        cancels.delete(next.cancel);
      }
    } catch (error) {
      if (cancelled) return;
      call.emit(
        'error',
        error instanceof InvalidPositionError
          ? rpcError(grpc.status.INVALID_ARGUMENT, 'Trying to read from an invalid position.')
          : error,
      );
    }
  }

  function append(call: AppendCall, callback: GrpcJs.sendUnaryData<StreamsPb.AppendResp>): void {
    let options: StreamsPb.AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: unknown) => {
      failed = true;
      callback(error as GrpcJs.ServiceError);
    };
    call.on('data', (request: StreamsPb.AppendReq) => {
      if (failed) return;
      try {
        if (!options) {
          if (!request.hasOptions())
            throw rpcError(grpc.status.INVALID_ARGUMENT, 'the first message must carry options');
          options = request.getOptions()!;
          return;
        }
        const event = proposedEvent(request.getProposedMessage()!);
        size += appendSize(event);
        if (size > MAX_APPEND_SIZE) throw maxAppendSizeError();
        events.push(event);
      } catch (error) {
        fail(error);
      }
    });
    call.on('end', () => {
      if (failed) return;
      if (!options) return fail(rpcError(grpc.status.INVALID_ARGUMENT, 'no options were sent'));
      const Case = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
      const expected = expectedVersion(options.getExpectedStreamRevisionCase(), Case, () => options!.getRevision());
      const outcome = log.append(streamName(options.getStreamIdentifier()), expected, events);
      callback(null, appendResponse(outcome, expected));
    });
  }

  function batchAppend(call: BatchAppendCall): void {
    interface Pending {
      stream: string;
      expected: bigint;
      events: ProposedEvent[];
      size: number;
    }
    const pending = new Map<string, Pending>();
    const Case = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
    call.on('data', (request: StreamsPb.BatchAppendReq) => {
      const correlation = request.getCorrelationId()!;
      const key = correlation.getString();
      const reply = (stream: string, fill: (resp: StreamsPb.BatchAppendResp) => void) => {
        const response = new streamsPb.BatchAppendResp()
          .setCorrelationId(correlation)
          .setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream, 'utf8')));
        fill(response);
        void send(call, response);
      };
      try {
        const options = request.getOptions();
        if (options) {
          const stream = streamName(options.getStreamIdentifier());
          const deadline = options.getDeadline()?.toDate();
          if (deadline && deadline.getTime() <= Date.now()) {
            reply(stream, (r) =>
              r.setError(status(codePb.Code.DEADLINE_EXCEEDED, 'Timeout', 'Timeout', new sharedPb.Timeout())),
            );
            return;
          }
          const expected = expectedVersion(
            options.getExpectedStreamPositionCase(),
            { REVISION: Case.STREAM_POSITION, NO_STREAM: Case.NO_STREAM, STREAM_EXISTS: Case.STREAM_EXISTS },
            () => options.getStreamPosition(),
          );
          if (!pending.has(key)) pending.set(key, { stream, expected, events: [], size: 0 });
        }
        const write = pending.get(key);
        if (!write) return;
        for (const message of request.getProposedMessagesList()) {
          const event = proposedEvent(message);
          write.size += appendSize(event);
          write.events.push(event);
        }
        if (write.size > MAX_APPEND_SIZE) {
          pending.delete(key);
          const detail = new sharedPb.MaximumAppendSizeExceeded().setMaxappendsize(MAX_APPEND_SIZE);
          reply(write.stream, (r) =>
            r.setError(
              status(codePb.Code.INVALID_ARGUMENT, 'Maximum Append Size Exceeded', 'MaximumAppendSizeExceeded', detail),
            ),
          );
          return;
        }
        if (!request.getIsFinal() || !pending.delete(key)) return;
        const outcome = log.append(write.stream, write.expected, write.events);
        reply(write.stream, (r) => batchOutcome(r, outcome, write.expected));
      } catch (error) {
        const stream = pending.get(key)?.stream ?? '';
        pending.delete(key);
        const message = (error as Error).message;
        reply(stream, (r) =>
          r.setError(
            status(codePb.Code.INVALID_ARGUMENT, message, 'BadRequest', new sharedPb.BadRequest().setMessage(message)),
          ),
        );
      }
    });
    call.on('end', () => call.end());
  }

  function getSupportedMethods(
    _call: unknown,
    callback: GrpcJs.sendUnaryData<ServerFeaturesPb.SupportedMethods>,
  ): void {
    callback(null, supportedMethods(withBatchAppend));
  }

  return { streams: { read, append, batchAppend }, serverFeatures: { getSupportedMethods } };
}

/** The server's internal expected-version code for an append's expected-revision oneof. */
function expectedVersion(
  selected: number,
  cases: { REVISION: number; NO_STREAM: number; STREAM_EXISTS: number },
  revision: () => string,
): bigint {
  if (selected === cases.REVISION) return BigInt(revision());
  if (selected === cases.NO_STREAM) return NO_STREAM;
  if (selected === cases.STREAM_EXISTS) return STREAM_EXISTS;
  return ANY;
}

function supportedMethods(batchAppend: boolean) {
  const method = (service: string, name: string, features: string[] = []) =>
    new serverFeaturesPb.SupportedMethod().setServiceName(service).setMethodName(name).setFeaturesList(features);
  const streams = 'event_store.client.streams.streams';
  const methods = [
    method(streams, 'read', ['position', 'events']),
    method(streams, 'append'),
    ...(batchAppend ? [method(streams, 'batchappend', ['deadline_duration'])] : []),
    method('event_store.client.server_features.serverfeatures', 'getsupportedmethods'),
  ];
  return new serverFeaturesPb.SupportedMethods().setMethodsList(methods).setEventStoreServerVersion(SERVER_VERSION);
}

/** A google.rpc.Status carrying one of the server's detail messages, as BatchAppend reports failures. */
function status(
  code: number,
  message: string,
  detailType: string,
  detail: { serializeBinary(): Uint8Array },
): StatusPb.Status {
  const any = new anyPb.Any();
  any.pack(detail.serializeBinary(), `event_store.client.${detailType}`);
  return new statusPb.Status().setCode(code).setMessage(message).setDetails(any);
}

function appendResponse(outcome: AppendOutcome, expected: bigint): StreamsPb.AppendResp {
  const response = new streamsPb.AppendResp();
  if (outcome.kind === 'success') {
    const success = new streamsPb.AppendResp.Success();
    if (outcome.current < 0n) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(outcome.current.toString());
    if (outcome.position === undefined) success.setNoPosition(new sharedPb.Empty());
    else
      success.setPosition(
        new streamsPb.AppendResp.Position()
          .setCommitPosition(outcome.position.toString())
          .setPreparePosition(outcome.position.toString()),
      );
    return response.setSuccess(success);
  }
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (outcome.current < 0n) wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(outcome.current.toString());
  if (expected === ANY) wrong.setExpectedAny(new sharedPb.Empty());
  else if (expected === NO_STREAM) wrong.setExpectedNoStream(new sharedPb.Empty());
  else if (expected === STREAM_EXISTS) wrong.setExpectedStreamExists(new sharedPb.Empty());
  else wrong.setExpectedRevision(expected.toString());
  return response.setWrongExpectedVersion(wrong);
}

function batchOutcome(response: StreamsPb.BatchAppendResp, outcome: AppendOutcome, expected: bigint): void {
  if (outcome.kind === 'success') {
    const success = new streamsPb.BatchAppendResp.Success();
    if (outcome.current < 0n) success.setNoStream(new emptyPb.Empty());
    else success.setCurrentRevision(outcome.current.toString());
    if (outcome.position === undefined) success.setNoPosition(new emptyPb.Empty());
    else
      success.setPosition(
        new sharedPb.AllStreamPosition()
          .setCommitPosition(outcome.position.toString())
          .setPreparePosition(outcome.position.toString()),
      );
    response.setSuccess(success);
    return;
  }
  const wrong = new sharedPb.WrongExpectedVersion();
  if (outcome.current < 0n) wrong.setCurrentNoStream(new emptyPb.Empty());
  else wrong.setCurrentStreamRevision(outcome.current.toString());
  if (expected === ANY) wrong.setExpectedAny(new emptyPb.Empty());
  else if (expected === NO_STREAM) wrong.setExpectedNoStream(new emptyPb.Empty());
  else if (expected === STREAM_EXISTS) wrong.setExpectedStreamExists(new emptyPb.Empty());
  else wrong.setExpectedStreamPosition(expected.toString());
  response.setError(status(codePb.Code.FAILED_PRECONDITION, 'Wrong expected version', 'WrongExpectedVersion', wrong));
}

/** Starts a stand-in on 127.0.0.1, insecure; connect with `url`. */
export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const log = options.log ?? new StandInLog();
  const handlers = createHandlers(log, options.batchAppend ?? true);
  const server = new grpc.Server();
  server.addService(streamsGrpc.StreamsService, handlers.streams);
  server.addService(serverFeaturesGrpc.ServerFeaturesService, handlers.serverFeatures);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    port,
    log,
    // Live subscriptions never finish by themselves, so stopping drops every call, as a crashed node would.
    stop: async () => server.forceShutdown(),
  };
}
