import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../common/admin.guard';
import { ErrorResponses } from '../common/api-errors';
import { IdParamPipe } from '../common/id-param.pipe';
import { ADMIN_AUTH } from '../common/openapi';
import { Admitter } from './admitter';
import { AdmissionsDto, AdmissionsView } from './dto/admissions.dto';

@ApiTags('events')
@Controller('v1/events/:eventId/admissions')
export class AdmissionsController {
  constructor(private readonly admitter: Admitter) {}

  @Post()
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth(ADMIN_AUTH)
  @ApiOperation({
    summary: 'Admit the next count people in line now (admin)',
    description:
      'In the event\'s queue order, whatever admission.mode, paused, ratePerSecond and maxActive say: the caller is the admission policy ' +
      '(with admission.mode manual, the only one). Fewer when fewer wait; none before salesStartAt or while no seat is on sale.',
  })
  @ApiResponse({ status: 200, type: AdmissionsView })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'EVENT_NOT_FOUND', 'SOLD_OUT', ['QUEUE_CLOSED', 409], 'UNAVAILABLE')
  admit(@Param('eventId', IdParamPipe) eventId: string, @Body() body: AdmissionsDto): Promise<AdmissionsView> {
    return this.admitter.admitNow(eventId, body.count);
  }
}
