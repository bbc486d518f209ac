import {DescribeKeyCommand, ListAliasesCommand, ListKeysCommand, UpdateAliasCommand} from '@aws-sdk/client-kms'
import {Chalk} from 'chalk'
import {beforeEach, describe, expect, it} from 'vitest'

import {
  aliasChoices,
  autoPromptMode,
  keyChoices,
  matching,
  promptForMissing,
  type AutoPromptMode,
  type AutoPromptSettings,
  type Question,
} from '../../src/lib/auto-prompt.js'
import {UsageError} from '../../src/lib/errors.js'
import {promptTheme} from '../../src/lib/terminal.js'
import {
  ALIAS,
  aliasEntry,
  CURRENT_KEY_ID,
  keyArn,
  kmsMock,
  newGateway,
  serviceException,
  TARGET_KEY_ID,
} from '../support/kms-mock.js'

const AWS_MANAGED_KEY_ID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'
const UNALIASED_KEY_ID = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'

const ON_A_TERMINAL: AutoPromptSettings = {flag: undefined, argv: [], terminal: true}

beforeEach(() => {
  kmsMock.reset()
})

describe('autoPromptMode', () => {
  it.each<[string, Partial<AutoPromptSettings>, NodeJS.ProcessEnv, AutoPromptMode]>([
    ['nothing asks for it', {}, {}, 'off'],
    ['--cli-auto-prompt', {flag: true}, {}, 'on'],
    ['--no-cli-auto-prompt over AWS_CLI_AUTO_PROMPT=on', {flag: false}, {AWS_CLI_AUTO_PROMPT: 'on'}, 'off'],
    ['--cli-auto-prompt over AWS_CLI_AUTO_PROMPT=on-partial', {flag: true}, {AWS_CLI_AUTO_PROMPT: 'on-partial'}, 'on'],
    ['AWS_CLI_AUTO_PROMPT=on-partial', {}, {AWS_CLI_AUTO_PROMPT: 'on-partial'}, 'on-partial'],
    ['AWS_CLI_AUTO_PROMPT=ON, in any case', {}, {AWS_CLI_AUTO_PROMPT: 'ON'}, 'on'],
    ['AWS_CLI_AUTO_PROMPT over the profile', {profileSetting: 'on'}, {AWS_CLI_AUTO_PROMPT: 'off'}, 'off'],
    ['the profile when AWS_CLI_AUTO_PROMPT is empty', {profileSetting: 'on'}, {AWS_CLI_AUTO_PROMPT: ''}, 'on'],
    ["the profile's cli_auto_prompt", {profileSetting: 'on'}, {}, 'on'],
    ['a value that is not a mode', {}, {AWS_CLI_AUTO_PROMPT: 'yes'}, 'off'],
    ['--cli-auto-prompt off a terminal', {flag: true, terminal: false}, {}, 'off'],
    ['AWS_CLI_AUTO_PROMPT=on off a terminal', {terminal: false}, {AWS_CLI_AUTO_PROMPT: 'on'}, 'off'],
  ])('with %s is %s', (_, settings, env, expected) => {
    expect(autoPromptMode({...ON_A_TERMINAL, ...settings}, env)).toBe(expected)
  })

  it('refuses --cli-auto-prompt with --no-cli-auto-prompt as a usage error, even off a terminal', () => {
    const argv = ['--cli-auto-prompt', '--no-cli-auto-prompt']
    expect(() => autoPromptMode({flag: false, argv, terminal: false}, {})).toThrow(
      new UsageError('--cli-auto-prompt and --no-cli-auto-prompt cannot both be given: keep one of them.'),
    )
  })
})

describe('aliasChoices', () => {
  const aliases = [
    aliasEntry('alias/zeta', TARGET_KEY_ID),
    aliasEntry('alias/aws/ebs', AWS_MANAGED_KEY_ID),
    aliasEntry(ALIAS, CURRENT_KEY_ID),
    {AliasName: 'alias/aws/rds'},
  ]

  it('offers the customer aliases by name, each with its key, and none under alias/aws/', () => {
    expect(aliasChoices(aliases)).toEqual([
      {value: ALIAS, name: ALIAS, description: `points at ${CURRENT_KEY_ID}`},
      {value: 'alias/zeta', name: 'alias/zeta', description: `points at ${TARGET_KEY_ID}`},
    ])
  })

  it('puts the alias given first, so that Enter keeps it', () => {
    expect(aliasChoices(aliases, 'alias/zeta').map((choice) => choice.value)).toEqual(['alias/zeta', ALIAS])
  })

  it('offers an alias given that the account does not have, first', () => {
    expect(aliasChoices(aliases, 'alias/new').map((choice) => choice.value)).toEqual(['alias/new', ALIAS, 'alias/zeta'])
  })
})

describe('keyChoices', () => {
  const keys = [
    {KeyId: UNALIASED_KEY_ID, KeyArn: keyArn(UNALIASED_KEY_ID)},
    {KeyId: TARGET_KEY_ID, KeyArn: keyArn(TARGET_KEY_ID)},
    {KeyId: AWS_MANAGED_KEY_ID, KeyArn: keyArn(AWS_MANAGED_KEY_ID)},
    {KeyId: CURRENT_KEY_ID, KeyArn: keyArn(CURRENT_KEY_ID)},
  ]
  const aliases = [
    aliasEntry(ALIAS, CURRENT_KEY_ID),
    aliasEntry('alias/other', CURRENT_KEY_ID),
    aliasEntry('alias/aws/ebs', AWS_MANAGED_KEY_ID),
  ]

  it('offers each key with the aliases that point at it, leaving out AWS managed keys', () => {
    expect(keyChoices(keys, aliases)).toEqual([
      {value: TARGET_KEY_ID, name: TARGET_KEY_ID, description: keyArn(TARGET_KEY_ID)},
      {value: CURRENT_KEY_ID, name: `${CURRENT_KEY_ID}  ${ALIAS}, alias/other`, description: keyArn(CURRENT_KEY_ID)},
      {value: UNALIASED_KEY_ID, name: UNALIASED_KEY_ID, description: keyArn(UNALIASED_KEY_ID)},
    ])
  })

  it('puts the key given first', () => {
    expect(keyChoices(keys, aliases, UNALIASED_KEY_ID)[0].value).toBe(UNALIASED_KEY_ID)
  })
})

describe('matching', () => {
  const choices = aliasChoices([aliasEntry(ALIAS, CURRENT_KEY_ID), aliasEntry('alias/apple', TARGET_KEY_ID)])

  it('offers every choice before anything is typed', () => {
    expect(matching(choices, undefined)).toEqual(choices)
  })

  it('keeps the choices whose label holds the term, ignoring case, then the term as typed', () => {
    expect(matching(choices, 'APPL').map((choice) => choice.value)).toEqual(['alias/apple', 'APPL'])
  })

  it('offers the term alone when nothing holds it', () => {
    expect(matching(choices, 'alias/new')).toEqual([{value: 'alias/new', name: 'alias/new', description: 'as typed'}])
  })

  it('does not repeat a term that is a choice already', () => {
    expect(matching(choices, 'alias/apple').map((choice) => choice.value)).toEqual(['alias/apple'])
  })
})

/** Answers each question with the value of its first choice, and keeps the questions. */
function firstChoice(questions: Question[]) {
  return async (question: Question) => {
    questions.push(question)
    return question.choices[0].value
  }
}

function givenAccount(): void {
  kmsMock
    .on(ListAliasesCommand, {Marker: undefined})
    .resolves({Aliases: [aliasEntry('alias/aws/ebs', AWS_MANAGED_KEY_ID)], Truncated: true, NextMarker: 'page-2'})
    .on(ListAliasesCommand, {Marker: 'page-2'})
    .resolves({Aliases: [aliasEntry(ALIAS, CURRENT_KEY_ID)]})
    .on(ListKeysCommand, {Marker: undefined})
    .resolves({Keys: [{KeyId: AWS_MANAGED_KEY_ID}, {KeyId: CURRENT_KEY_ID}], Truncated: true, NextMarker: 'keys-2'})
    .on(ListKeysCommand, {Marker: 'keys-2'})
    .resolves({Keys: [{KeyId: TARGET_KEY_ID}]})
}

describe('promptForMissing', () => {
  it('in on-partial mode asks for both when both are missing, offering every page of the account', async () => {
    // given an account whose aliases and keys come in two pages each
    givenAccount()
    const questions: Question[] = []
    // when
    const chosen = await promptForMissing({}, newGateway(), 'on-partial', firstChoice(questions))
    // then the customer alias and the customer keys were offered, from both pages
    expect(questions.map((question) => question.message)).toEqual(['Alias to move', `Key for ${ALIAS} to point at`])
    expect(questions[0].choices.map((choice) => choice.value)).toEqual([ALIAS])
    expect(questions[1].choices.map((choice) => choice.value)).toEqual([CURRENT_KEY_ID, TARGET_KEY_ID].sort())
    expect(chosen).toEqual({aliasName: ALIAS, targetKeyId: questions[1].choices[0].value})
    expect(kmsMock).toHaveReceivedCommandTimes(ListAliasesCommand, 2)
    expect(kmsMock).toHaveReceivedCommandTimes(ListKeysCommand, 2)
  })

  it('in on-partial mode asks only for what is missing, keeping what was given', async () => {
    givenAccount()
    const questions: Question[] = []
    const given = {aliasName: 'alias/given'}
    const chosen = await promptForMissing(given, newGateway(), 'on-partial', firstChoice(questions))
    expect(questions.map((question) => question.message)).toEqual(['Key for alias/given to point at'])
    expect(chosen.aliasName).toBe('alias/given')
  })

  it('in on-partial mode asks nothing and calls nothing when both are given', async () => {
    const questions: Question[] = []
    const given = {aliasName: ALIAS, targetKeyId: TARGET_KEY_ID}
    expect(await promptForMissing(given, newGateway(), 'on-partial', firstChoice(questions))).toEqual(given)
    expect(questions).toEqual([])
    expect(kmsMock.calls()).toHaveLength(0)
  })

  it('in on mode asks for both even when both are given, offering the given ones first', async () => {
    givenAccount()
    const questions: Question[] = []
    // given values that sort last: an alias the account lacks, the key whose id sorts second
    const given = {aliasName: 'alias/zeta', targetKeyId: CURRENT_KEY_ID}
    const chosen = await promptForMissing(given, newGateway(), 'on', firstChoice(questions))
    expect(questions).toHaveLength(2)
    expect(questions[1].choices.map((choice) => choice.value)).toEqual([CURRENT_KEY_ID, TARGET_KEY_ID])
    expect(chosen).toEqual(given)
  })

  it('in off mode asks nothing, calls nothing, and leaves a missing argument missing', async () => {
    const questions: Question[] = []
    const answered = await promptForMissing({aliasName: ALIAS}, newGateway(), 'off', firstChoice(questions))
    expect(answered).toEqual({aliasName: ALIAS})
    expect(questions).toEqual([])
    expect(kmsMock.calls()).toHaveLength(0)
  })

  it('never calls UpdateAlias or DescribeKey itself', async () => {
    givenAccount()
    await promptForMissing({}, newGateway(), 'on', firstChoice([]))
    expect(kmsMock).not.toHaveReceivedCommand(UpdateAliasCommand)
    expect(kmsMock).not.toHaveReceivedCommand(DescribeKeyCommand)
  })

  it('still asks, with nothing offered, when the account cannot be listed, and says why on one line', async () => {
    // given ListKeys is not allowed
    givenAccount()
    kmsMock.on(ListKeysCommand).rejects(serviceException('AccessDeniedException', 'not allowed'))
    const notes: string[] = []
    const questions: Question[] = []
    const typed = async (question: Question) => {
      questions.push(question)
      return question.message === 'Alias to move' ? ALIAS : TARGET_KEY_ID
    }
    // when
    const chosen = await promptForMissing({}, newGateway(), 'on', typed, (line) => notes.push(line))
    // then
    expect(questions[1].choices).toEqual([])
    expect(chosen).toEqual({aliasName: ALIAS, targetKeyId: TARGET_KEY_ID})
    expect(notes).toEqual([
      "The account's keys cannot be offered (An error occurred (AccessDeniedException) when calling the ListKeys " +
        'operation: not allowed); type a value instead.',
    ])
  })

  it('checks a typed value with the same rules as the flags', async () => {
    givenAccount()
    const questions: Question[] = []
    await promptForMissing({}, newGateway(), 'on', firstChoice(questions))
    expect(questions[0].validate('app')).toMatch(/^--alias-name 'app'/)
    expect(questions[0].validate(ALIAS)).toBe(true)
    expect(questions[1].validate('alias/other')).toMatch(/^--target-key-id 'alias\/other'/)
    expect(questions[1].validate(TARGET_KEY_ID)).toBe(true)
  })
})

describe('promptTheme', () => {
  it('has no colour when colour is off, and colour when it is on', () => {
    const plain = promptTheme(new Chalk({level: 0}))
    const coloured = promptTheme(new Chalk({level: 1}))
    expect(plain.prefix.idle).toBe('?')
    expect(plain.style.highlight('alias/app')).toBe('alias/app')
    expect(plain.style.keysHelpTip([['↑↓', 'navigate']])).toBe('↑↓ navigate')
    expect(coloured.style.highlight('alias/app')).toMatch(/\u001B\[/)
  })
})
