import {EXIT} from './outcomes.js'

/** An error that ends the run with one line on stderr and a documented exit code. */
export class KmsRotateError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
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
    readonly detail: string,
    readonly httpStatusCode?: number,
  ) {
    super(`An error occurred (${code}) when calling the ${operation} operation: ${detail}`, EXIT.service)
  }
}
