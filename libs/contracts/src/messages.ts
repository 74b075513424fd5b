/** The most of one piece of user input a message quotes. */
export const QUOTE_MAX = 80;

/** The longest message Berth writes for people: a condition, an Event, a refusal on the bus. */
export const MESSAGE_MAX = 1024;

/**
 * `text` in double quotes for a message, cut to `QUOTE_MAX` characters with its length said:
 * user input can be of any size (an annotation of 200 KB), and the message is stored in status,
 * sent in Events and read by people.
 */
export function quote(text: string): string {
  if (text.length <= QUOTE_MAX) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTE_MAX))}… (${text.length} characters)`;
}

/** A message cut to `MESSAGE_MAX` characters, the last one an ellipsis when it was longer. */
export function bounded(message: string): string {
  return message.length <= MESSAGE_MAX ? message : `${message.slice(0, MESSAGE_MAX - 1)}…`;
}
