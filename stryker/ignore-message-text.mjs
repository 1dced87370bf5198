// A Stryker ignorer: the prose of an error or log message (and of what an options error says was
// expected) is for the administrator who reads it, not behaviour a spec should pin word by word.
// Mutants of such text are reported as ignored, so that no survivor is a mere change of words.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const MESSAGE_PROPERTIES = new Set(['detail', 'description', 'message']);
const LOG_FUNCTIONS = new Set(['debug', 'log', 'trace', 'info', 'warn']);
/** lib/validation.ts and valibot take the words an options error uses to say what was expected. */
const VALIDATION_FUNCTIONS = new Set([
  'fn',
  'amount',
  'positiveInteger',
  'text',
  'url',
  'methods',
  'checkOptions',
  'parseOptions',
]);
const isValibot = (callee) =>
  callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'v';

/** Prose has a space in it; protocol tokens, codes and header names never do. */
function isProse(path) {
  if (path.isStringLiteral()) return /\s/.test(path.node.value);
  if (path.isTemplateLiteral()) return path.node.quasis.some((quasi) => /\s/.test(quasi.value.raw));
  return false;
}

function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression' && callee.property.type === 'Identifier')
    return callee.property.name;
  return undefined;
}

function propertyName(node) {
  if (node.key.type === 'Identifier') return node.key.name;
  if (node.key.type === 'StringLiteral') return node.key.value;
  return undefined;
}

/** Walks up through the ways a message is put together until it reaches what receives it. */
function isMessage(path) {
  let current = path;
  for (let parent = current.parentPath; parent; current = parent, parent = parent.parentPath) {
    if (parent.isNewExpression() || parent.isCallExpression()) {
      if (current.listKey !== 'arguments') return false;
      const name = calleeName(parent.node.callee) ?? '';
      if (parent.isNewExpression() && name.endsWith('Error')) return true;
      if (parent.isCallExpression() && LOG_FUNCTIONS.has(name)) return true;
      if (VALIDATION_FUNCTIONS.has(name) || isValibot(parent.node.callee)) return true;
      // `throw invalid('...')`: a helper that makes the error from its message.
      if (parent.isCallExpression() && parent.parentPath?.isThrowStatement()) return true;
      continue; // a helper that formats part of a message, such as printable(...)
    }
    if (parent.isObjectProperty())
      return current.key === 'value' && MESSAGE_PROPERTIES.has(propertyName(parent.node));
    if (parent.isTemplateLiteral() || parent.isBinaryExpression({ operator: '+' })) continue;
    if (parent.isConditionalExpression() && current.key !== 'test') continue;
    return false;
  }
  return false;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'message-text', {
    shouldIgnore(path) {
      return isProse(path) && isMessage(path) ? 'the text of an error or log message' : undefined;
    },
  }),
];
