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
}

export class EventView {
  @ApiProperty() eventId!: string;
  @ApiProperty({ enum: ['streams', 'zset'] }) queue!: 'streams' | 'zset';
  @ApiProperty() capacity!: number;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ description: 'users waiting in the queue' }) waiting!: number;
  @ApiProperty({ description: 'admitted sessions not yet over' }) active!: number;
  @ApiProperty({ type: EventConfigView }) config!: EventConfigView;
}
