import type { RedisClient } from '@rayvault/shared';
import { redisKeys } from '@rayvault/shared';

export type Delivered = { chatId: string; messageId: number; at: string };
/**
 * A sent message as we rendered it, plus the outcome notes appended by button presses (keyed, so re-applying one
 * changes nothing).
 */
export type MessageRecord = {
  html: string;
  dedupeKey: string;
  runId?: string;
  notes: Array<{ id: string; html: string }>;
};

/**
 * Which Telegram message belongs to which alert (Redis hashes under the queue
 * prefix, so one Redis Cluster slot). `delivered` is checked before sending,
 * so a job retried after a successful send does not send again.
 */
export function createMessageMap(redis: RedisClient, prefix: string) {
  const deliveredKey = redisKeys.notifierDelivered(prefix);
  const messagesKey = redisKeys.notifierMessages(prefix);
  const field = (chatId: string | number, messageId: number) => `${chatId}:${messageId}`;

  return {
    async delivered(dedupeKey: string): Promise<Delivered | null> {
      const raw = await redis.hget(deliveredKey, dedupeKey);
      return raw ? (JSON.parse(raw) as Delivered) : null;
    },
    async recordDelivery(dedupeKey: string, d: Delivered, message: MessageRecord): Promise<void> {
      await redis
        .multi()
        .hset(deliveredKey, dedupeKey, JSON.stringify(d))
        .hset(messagesKey, field(d.chatId, d.messageId), JSON.stringify(message))
        .exec();
    },
    async message(chatId: string | number, messageId: number): Promise<MessageRecord | null> {
      const raw = await redis.hget(messagesKey, field(chatId, messageId));
      return raw ? (JSON.parse(raw) as MessageRecord) : null;
    },
    async saveMessage(chatId: string | number, messageId: number, message: MessageRecord): Promise<void> {
      await redis.hset(messagesKey, field(chatId, messageId), JSON.stringify(message));
    },
  };
}
export type MessageMap = ReturnType<typeof createMessageMap>;

/** The message text: what was sent, then each outcome note once. */
export function renderMessage(m: MessageRecord): string {
  return [m.html, ...m.notes.map((n) => n.html)].join('\n\n');
}

/** Adds a note unless one with the same id is there (a redelivered update re-renders the same text). */
export function withNote(m: MessageRecord, id: string, html: string): MessageRecord {
  return m.notes.some((n) => n.id === id) ? m : { ...m, notes: [...m.notes, { id, html }] };
}
