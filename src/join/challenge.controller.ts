import { Controller, Get, Header, Param } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ErrorResponses } from '../common/api-errors';
import { IdParamPipe } from '../common/id-param.pipe';
import { ChallengeDto } from './dto/challenge.dto';
import { JoinChallenges } from './join-challenges';

@ApiTags('queue')
@Controller('v1/events/:eventId/challenge')
export class ChallengeController {
  constructor(private readonly challenges: JoinChallenges) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'A proof-of-work challenge for one join',
    description:
      'Find a nonce such that SHA-256(challenge + nonce) (UTF-8, the digest read as bits) starts with difficultyBits zero bits, ' +
      'then join with { challenge, nonce }. Good for one join until expiresAt. Issuing one writes nothing to Redis.',
  })
  @ApiResponse({ status: 200, type: ChallengeDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  issue(@Param('eventId', IdParamPipe) eventId: string): Promise<ChallengeDto> {
    return this.challenges.issue(eventId);
  }
}
