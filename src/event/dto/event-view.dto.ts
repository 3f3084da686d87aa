import { ApiProperty } from '@nestjs/swagger';

export class AdmissionConfigView {
  @ApiProperty() ratePerSecond!: number;
  @ApiProperty() maxActive!: number;
  @ApiProperty() sessionTtlSeconds!: number;
}

export class ChallengeConfigView {
  @ApiProperty({ description: 'proof-of-work bits a join must show; 0: no challenge' }) difficultyBits!: number;
}

export class EventConfigView {
  @ApiProperty() holdTtlSeconds!: number;
  @ApiProperty() maxSeatsPerUser!: number;
  @ApiProperty({ type: AdmissionConfigView }) admission!: AdmissionConfigView;
  @ApiProperty() paused!: boolean;
  @ApiProperty({ type: ChallengeConfigView }) challenge!: ChallengeConfigView;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the event closes; null: no end' })
  endsAt!: string | null;
}

/** Every status of the CONTRACT; this version produces open, paused and closed. */
export const EVENT_STATUSES = ['scheduled', 'prequeue', 'open', 'paused', 'soldOut', 'closed'] as const;

export class EventView {
  @ApiProperty() eventId!: string;
  @ApiProperty({ enum: ['streams', 'zset'] }) queue!: 'streams' | 'zset';
  @ApiProperty({ enum: EVENT_STATUSES, description: 'open; paused (admission stopped, joins go on); closed (past endsAt: joins refused)' })
  status!: (typeof EVENT_STATUSES)[number];
  @ApiProperty() capacity!: number;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ description: 'users waiting in the queue' }) waiting!: number;
  @ApiProperty({ description: 'admitted sessions not yet over' }) active!: number;
  @ApiProperty({ type: EventConfigView }) config!: EventConfigView;
}
