import { Body, type PipeTransform } from '@nestjs/common';
import type { Static, TSchema } from '@sinclair/typebox';
import { ProblemError, type FieldError } from './problem.js';
import { compileValidator, type Validator } from './validation.js';

/**
 * How a request that fails its schema is refused: an error (usually a 400 `ProblemError`)
 * naming every bad field. `value` is what failed, for a refusal that adds domain rules.
 */
export type Refusal = (errors: FieldError[], value?: unknown) => Error;

/** The standard refusal: 400 `urn:fpi:problem:<code>` with `title` and one entry per bad field (docs/problems.md). */
export const invalidRequest =
  (code: string, title: string): Refusal =>
  (errors) =>
    ProblemError.of(400, code, title, undefined, errors);

/**
 * The Nest pipe of every request validated by a TypeBox schema: the value that passes
 * is handed on as `Static<S>`; one that fails is refused with `refuse(errors)`, every
 * pointer and rule at once (Ajv through `compileValidator`, storable text included).
 * `whenAbsent` stands in for a missing body (undefined) before it is validated.
 */
export class SchemaPipe<S extends TSchema> implements PipeTransform<unknown, Static<S>> {
  readonly validate: Validator<Static<S>>;

  constructor(
    schema: S,
    private readonly refuse: Refusal,
    private readonly options: { whenAbsent?: unknown } = {},
  ) {
    this.validate = compileValidator(schema);
  }

  transform(value: unknown): Static<S> {
    const input = value === undefined && 'whenAbsent' in this.options ? this.options.whenAbsent : value;
    const result = this.validate(input);
    if (!result.ok) throw this.refuse(result.errors, input);
    return result.value;
  }
}

/**
 * `@ValidatedBody(schema, refuse)`: the request body, validated by `schema` (see SchemaPipe).
 * The schema is compiled once, when the controller's module loads.
 */
export const ValidatedBody = <S extends TSchema>(schema: S, refuse: Refusal, options?: { whenAbsent?: unknown }): ParameterDecorator => Body(new SchemaPipe(schema, refuse, options));
