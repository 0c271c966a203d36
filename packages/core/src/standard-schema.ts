/**
 * The Standard Schema v1 interface (https://standardschema.dev), written out here
 * so core has no runtime or type dependency. zod, valibot, arktype and others
 * implement it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A path segment: a key, or an object holding one. */
export type StandardPathSegment = PropertyKey | { readonly key: PropertyKey };

/** One validation issue. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<StandardPathSegment> | undefined;
}

/** The result of `validate`. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** The input type of a schema. */
export type InferInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];
/** The output type of a schema. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];
