import { ADMISSION_MODES, AdmissionMode, EVENT_STATUSES, EventStatus, QUEUE_METHODS, QueueMethod } from '../event-status';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class LevelView {
  @ApiProperty({ example: 'P1' }) priceLevel!: string;
  @ApiPropertyOptional({ description: 'minor units; absent for GA (no layout)' }) price?: number;
  @ApiPropertyOptional({ example: 'EUR' }) currency?: string;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
}

export class AdmissionConfigView {
  @ApiProperty() ratePerSecond!: number;
  @ApiProperty() maxActive!: number;
  @ApiProperty() sessionTtlSeconds!: number;
  @ApiProperty({ enum: ADMISSION_MODES, description: 'manual: nobody is admitted but through POST .../admissions' }) mode!: AdmissionMode;
}

export class ChallengeConfigView {
  @ApiProperty({ description: 'proof-of-work bits a join must show; 0: no challenge' }) difficultyBits!: number;
}

export class AdmissionRatesView {
  @ApiProperty({ description: 'admission.ratePerSecond as configured' }) configuredRatePerSecond!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'admissions per second over the last minute; null before the first admission' })
  observedRatePerSecond!: number | null;
}

export class EventConfigView {
  @ApiProperty() holdTtlSeconds!: number;
  @ApiProperty() maxSeatsPerUser!: number;
  @ApiProperty({ type: AdmissionConfigView }) admission!: AdmissionConfigView;
  @ApiProperty() paused!: boolean;
  @ApiProperty({ type: ChallengeConfigView }) challenge!: ChallengeConfigView;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the event closes; null: no end' })
  endsAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'joins before it get 403 QUEUE_NOT_OPEN; null: none' })
  queueOpensAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'the pre-queue is shuffled and admission begins; null: no pre-queue' })
  salesStartAt!: string | null;
  @ApiProperty({ type: [String], description: 'the origins the Queue-it flow may send admitted visitors back to (docs/queue-it.md); [] for none' })
  redirectOrigins!: string[];
}

export class ShuffleView {
  @ApiProperty({ description: 'hex SHA-256 of the seed (its 32 bytes), shown from creation on' }) commitment!: string;
  @ApiProperty({ type: String, nullable: true, description: 'the 256-bit seed (hex), null until salesStartAt' }) seed!: string | null;
}

export class EventView {
  @ApiProperty() eventId!: string;
  @ApiProperty({ enum: ['streams', 'zset'] }) queue!: 'streams' | 'zset';
  @ApiProperty({
    enum: EVENT_STATUSES,
    description: 'scheduled (before queueOpensAt), prequeue (before salesStartAt), open, paused, soldOut (no seat available and none held; nobody more is admitted, joins get 410), closed (endsAt passed or queueMethod reject; joins get 410)',
  })
  status!: EventStatus;
  @ApiProperty({ enum: QUEUE_METHODS }) queueMethod!: QueueMethod;
  @ApiProperty() capacity!: number;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ description: 'users waiting in the queue' }) waiting!: number;
  @ApiProperty({ description: 'admitted sessions not yet over' }) active!: number;
  @ApiProperty({ type: [LevelView], description: 'per price level; one level GA without a price for events without a layout' }) levels!: LevelView[];
  @ApiProperty({ type: AdmissionRatesView }) admission!: AdmissionRatesView;
  @ApiProperty({
    type: ShuffleView,
    nullable: true,
    description: 'the pre-queue shuffle (events with salesStartAt): rank = rank of hex HMAC-SHA256(seed, eventId + ":" + userId) ascending; null without a pre-queue',
  })
  shuffle!: ShuffleView | null;
  @ApiProperty({ type: EventConfigView }) config!: EventConfigView;
}
