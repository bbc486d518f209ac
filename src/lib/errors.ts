import {EXIT} from './outcomes.js'

const INVISIBLE_OR_LINE_BREAKING = /[\p{Cc}\p{Cf}\u2028\u2029]/gu
const NAMED_ESCAPES: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}

/**
 * Text from users and servers with control, format and line-separator characters written as
 * escapes, so that a message stays on one line and cannot steer the terminal.
 */
export function escapeControlCharacters(text: string): string {
  return text.replaceAll(INVISIBLE_OR_LINE_BREAKING, (character) => {
    const codePoint = character.codePointAt(0) ?? 0
    return NAMED_ESCAPES[character] ?? `\\u${codePoint.toString(16).padStart(4, '0')}`
  })
}

/** Longer values are cut in messages, so that one line stays readable. */
const SHOWN_MAX_LENGTH = 120

/** A value as error messages quote it: escaped, so that the message stays one line, and cut when long. */
export function shown(value: string): string {
  const characters = [...value]
  if (characters.length <= SHOWN_MAX_LENGTH) return `'${escapeControlCharacters(value)}'`
  const start = characters.slice(0, SHOWN_MAX_LENGTH - 20).join('')
  return `'${escapeControlCharacters(start)}…' (${characters.length} characters)`
}

/** An error that ends the run with one line on stderr and a documented exit code. */
export class KmsRotateError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(escapeControlCharacters(message))
    this.name = new.target.name
  }
}

export class UsageError extends KmsRotateError {
  constructor(message: string) {
    super(message, EXIT.usage)
  }
}

export class ConfigurationError extends KmsRotateError {
  constructor(message: string) {
    super(message, EXIT.configuration)
  }
}

/**
 * An error answer from KMS, printed the way the AWS CLI prints it so that runbooks that grep
 * for the error code keep working.
 */
export class ServiceError extends KmsRotateError {
  constructor(
    readonly code: string,
    readonly operation: string,
    public detail: string,
    readonly httpStatusCode?: number,
  ) {
    super(`An error occurred (${code}) when calling the ${operation} operation: ${detail}`, EXIT.service)
    this.detail = escapeControlCharacters(detail)
  }
}

/**
 * UpdateAlias went out and no answer came back: the connection closed or the read timed out.
 * KMS may have applied it, so it is never sent again blindly; the alias is read back instead.
 */
export class UpdateAnswerLostError extends KmsRotateError {
  constructor(message: string) {
    super(message, EXIT.other)
  }
}

/** A page of a list that says more pages follow but gives no marker to read them with. */
export class IncompleteListingError extends KmsRotateError {
  constructor(operation: string, page: number) {
    super(`${operation} page ${page} says Truncated but gives no NextMarker`, EXIT.other)
  }
}
