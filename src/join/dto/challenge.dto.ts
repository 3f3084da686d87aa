import { ApiProperty } from '@nestjs/swagger';

export class ChallengeDto {
  @ApiProperty({ description: 'send it back with the join, with a nonce that solves it', example: '12.1798000000000.xxxxxxxxxxxxxxxxxxxxxx.yyyyyyyyyyyyyyyyyyyyyy' })
  challenge!: string;

  @ApiProperty({
    minimum: 0,
    maximum: 32,
    description: 'SHA-256(challenge + nonce), UTF-8, must start with this many zero bits; 0: the event needs no challenge',
  })
  difficultyBits!: number;

  @ApiProperty({ description: 'ISO time (Redis clock) after which the challenge is refused; good for one join' })
  expiresAt!: string;
}
