import './disposable.js';

export { AT_MOST_ONCE_RECEIPT, atMostOnceDelivery } from './at-most-once.js';
export type { BackendOptionsRegistry } from './backend-options-registry.js';
export { defaultBackoff, resolveBackoff } from './backoff.js';
export { createBus } from './create-bus.js';
export { DLQ_HEADERS, deadLetterHeaders, defaultDeadLetterSubject, describeError } from './dead-letter.js';
export type {
  BusDriver,
  DeliverySink,
  DriverReceipt,
  DriverStartPosition,
  DriverSubscribeRequest,
  DriverSubscription,
  InboundDelivery,
  OutgoingMessage,
  SettleInfo,
} from './driver.js';
export type {
  AdapterNotInstalledErrorOptions,
  OmnibusErrorCode,
  OmnibusErrorOptions,
  ValidationIssue,
} from './errors.js';
export {
  AbortedError,
  AdapterNotInstalledError,
  BackpressureError,
  BusClosedError,
  ConfigError,
  ConnectionError,
  errors,
  formatIssues,
  InvalidArgumentError,
  InvalidSubjectError,
  isOmnibusError,
  OmnibusError,
  PayloadTooLargeError,
  PublishError,
  TimeoutError,
  ValidationError,
} from './errors.js';
export type { FormatErrorOptions } from './format-error.js';
export { formatError } from './format-error.js';
export type { BusInterceptor, HandleCall, InterceptedMessage, PublishCall } from './interceptors.js';
export { interceptAll } from './interceptors.js';
export { DEFAULT_DEAD_LETTERS, REDRIVE_HEADERS } from './management/dead-letters.js';
export { manage } from './management/manage.js';
export type {
  BusManagement,
  DeadLetter,
  DeadLetterPage,
  DeadLetterProgress,
  DeadLetterReport,
  DeadLetterSelection,
  DeadLetters,
  DriverManagement,
  GroupInfo,
  PurgeOptions,
  RedriveOptions,
  StoredMessage,
} from './management/management-types.js';
export { generateId } from './message-id.js';
export { runSoon } from './microtask.js';
export type {
  BusActivity,
  BusEvent,
  BusEventType,
  BusListener,
  DeliveryOutcome,
  DriverActivity,
  ObservedPublish,
  ObservedSubscription,
  ObserveOptions,
} from './observer.js';
export { activity, intercept, observe, observeAll } from './observer.js';
export type { BusHealth, BusOptions, BusStatus, Logger } from './operability.js';
export { log, MAX_TIMER_MS, settledWithin, silentLogger, timerMs, withTimeout } from './operability.js';
export type { OptionNames } from './options.js';
export { rejectUnknownOptions } from './options.js';
export { type ListNode, listNext, listOwner, listPrev, OrderedList } from './ordered-list.js';
export { redact, safeCause } from './redact.js';
export type { ResponsivenessWatch, ResponsivenessWatcher } from './responsiveness.js';
export { watchResponsiveness } from './responsiveness.js';
export { RingQueue } from './ring-queue.js';
export type {
  InferInput,
  InferOutput,
  StandardIssue,
  StandardSchemaResult,
  StandardSchemaV1,
} from './standard-schema.js';
export { StatusRelay } from './status-relay.js';
export {
  assertPattern,
  assertSubject,
  hasWildcard,
  isValidPattern,
  isValidSubject,
  MAX_SUBJECT_LENGTH,
  patternProblem,
  subjectMatches,
  subjectProblem,
} from './subject.js';
export { SubjectIndex } from './subject-index.js';
export type { EventDefinition, TypedMessage } from './typed-events.js';
export { defineEvent } from './typed-events.js';
export type {
  Backoff,
  BatchEntry,
  BusStats,
  Capabilities,
  CapabilityName,
  Closable,
  ConsumeOptions,
  Consumer,
  DeliveryLevel,
  EventBus,
  Headers,
  Message,
  MessageHandler,
  NakOptions,
  Payload,
  PublishOptions,
  PublishReceipt,
  StartPosition,
  SubscribeOptions,
  Subscription,
} from './types.js';
export { decodeUrlPart, queryStart, splitAuthority, type UrlAuthority } from './url-authority.js';
export type { UrlOptions, UrlParameter, UrlParameterContext, UrlParameters } from './url-parameters.js';
export {
  blameUrlParameters,
  mergeUrlOptions,
  readUrlParameters,
  renameConfigField,
  urlParameterOf,
} from './url-parameters.js';
export {
  assertMessageId,
  DEFAULT_MAX_PAYLOAD_BYTES,
  deliveryOption,
  encodePayload,
  normalizeHeaders,
} from './validate.js';
