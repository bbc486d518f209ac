import * as ux from '@oclif/core/ux'
import type {ChalkInstance} from 'chalk'

import {renderPlan} from './render.js'
import type {RotationReport} from './report.js'
import type {RotationHooks} from './rotate.js'

/** Prompts only when a person can answer: both stdin and stdout are terminals. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true
}

/**
 * The prompts' look in `colour`: Inquirer's own colours would follow the environment, not
 * `--color`.
 */
export function promptTheme(colour: ChalkInstance) {
  return {
    prefix: {idle: colour.blue('?'), done: colour.green('✔')},
    spinner: {interval: 80, frames: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'].map((f) => colour.yellow(f))},
    style: {
      answer: (text: string) => colour.cyan(text),
      message: (text: string) => colour.bold(text),
      error: (text: string) => colour.red(`> ${text}`),
      defaultAnswer: (text: string) => colour.dim(`(${text})`),
      help: (text: string) => colour.dim(text),
      highlight: (text: string) => colour.cyan(text),
      key: (text: string) => colour.cyan.bold(`<${text}>`),
      disabled: (text: string) => colour.dim(`- ${text}`),
      searchTerm: (text: string) => colour.cyan(text),
      description: (text: string) => colour.cyan(text),
      keysHelpTip: (keys: Array<[string, string]>) =>
        keys.map(([key, action]) => `${colour.bold(key)} ${colour.dim(action)}`).join(colour.dim(' • ')),
    },
  }
}

/** Shows the plan on stderr and asks before UpdateAlias; Ctrl-C at the prompt interrupts. */
export function confirmOnTerminal(colour: ChalkInstance, interrupt: AbortController): RotationHooks['confirm'] {
  return async (plan: RotationReport) => {
    process.stderr.write(renderPlan(plan, colour))
    const {default: confirm} = await import('@inquirer/confirm')
    try {
      return await confirm(
        {message: `Move ${plan.alias} to ${plan.to.keyId}?`, default: false, theme: promptTheme(colour)},
        {output: process.stderr},
      )
    } catch (error) {
      // Ctrl-C at the prompt: the run reports as interrupted, before anything was sent.
      if (error instanceof Error && error.name === 'ExitPromptError') interrupt.abort(error)
      throw error
    }
  }
}

/** A spinner with the elapsed time on stderr while polling; nothing at all off a terminal. */
export function pollProgress(
  aliasName: string,
  colour?: ChalkInstance,
): Pick<RotationHooks, 'onWaitStart' | 'onPoll' | 'onWaitEnd'> {
  if (!process.stderr.isTTY) return {}
  // oclif colours the spinner whenever both streams are terminals; an empty colour means none.
  if (colour?.level === 0 && 'color' in ux.action) Object.assign(ux.action, {color: ''})

  let startedAt = 0
  let polls = 0
  let ticker: NodeJS.Timeout | undefined
  const showStatus = () => {
    ux.action.status = `poll ${polls}, ${((performance.now() - startedAt) / 1000).toFixed(1)} s`
  }

  return {
    onWaitStart() {
      startedAt = performance.now()
      ux.action.start(`Waiting for ${aliasName} to show the new key`, '', {stdout: false})
      ticker = setInterval(showStatus, 100).unref()
    },
    onPoll(poll) {
      polls = poll
      showStatus()
    },
    onWaitEnd(seen) {
      clearInterval(ticker)
      ux.action.stop(seen ? 'seen' : 'not seen')
    },
  }
}

export interface Interrupt {
  controller: AbortController
  /** Told when UpdateAlias goes out and when its answer is back. */
  onUpdateInFlight: (inFlight: boolean) => void
  release: () => void
}

/**
 * The first Ctrl-C aborts the run so that it can still report. While UpdateAlias is in flight
 * the run waits for KMS's answer, and says so; a second Ctrl-C stops at once, saying what that
 * leaves unknown.
 */
export function interruptOnSigint(aliasName: string): Interrupt {
  const controller = new AbortController()
  let updateInFlight = false
  const onSigint = () => {
    if (!controller.signal.aborted) {
      controller.abort(new Error('interrupted'))
      if (updateInFlight) {
        process.stderr.write(
          `Waiting for KMS to answer UpdateAlias, so that the report can say where ${aliasName} points; ` +
            'press Ctrl-C again to stop now.\n',
        )
      }

      return
    }

    process.stderr.write(
      updateInFlight
        ? `Stopped before KMS answered UpdateAlias: ${aliasName} may or may not have moved; ` +
            'run the command again to see where it points.\n'
        : 'Stopped.\n',
    )
    // A second Ctrl-C asks for an immediate stop; there is nothing left to report.
    process.exit(130)
  }

  process.on('SIGINT', onSigint)
  return {
    controller,
    onUpdateInFlight(inFlight) {
      updateInFlight = inFlight
    },
    release: () => process.removeListener('SIGINT', onSigint),
  }
}
