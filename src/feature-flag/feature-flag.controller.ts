import { Body, Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminBody } from '../common/admin-body';
import { AdminGuard } from '../common/admin.guard';
import { ErrorResponses } from '../common/api-errors';
import { ADMIN_AUTH } from '../common/openapi';
import { FlagDto, FlagListDto, SetFlagDto } from './dto/set-flag.dto';
import { FeatureFlagService, FlagView } from './feature-flag.service';

@ApiTags('flags')
@ApiBearerAuth(ADMIN_AUTH)
@UseGuards(AdminGuard)
@Controller('v1/flags')
export class FeatureFlagController {
  constructor(private readonly flags: FeatureFlagService) {}

  @Get()
  @ApiOperation({ summary: 'Every flag with its value and where the value comes from' })
  @ApiResponse({ status: 200, type: FlagListDto })
  @ErrorResponses('UNAUTHORIZED', 'UNAVAILABLE')
  async list(): Promise<{ flags: FlagView[] }> {
    return { flags: await this.flags.list() };
  }

  @Put(':name')
  @AdminBody()
  @ApiOperation({ summary: 'Override a flag for every replica (seen within 1 s)' })
  @ApiResponse({ status: 200, type: FlagDto })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'FLAG_NOT_FOUND', 'UNAVAILABLE')
  set(@Param('name') name: string, @Body() dto: SetFlagDto): Promise<FlagView> {
    return this.flags.set(name, dto.enabled);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Drop the override: back to the env or default value' })
  @ApiResponse({ status: 204, description: 'override dropped' })
  @ErrorResponses('UNAUTHORIZED', 'FLAG_NOT_FOUND', 'UNAVAILABLE')
  async clear(@Param('name') name: string): Promise<void> {
    await this.flags.clear(name);
  }
}
