package dev.ballast.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.RunReport;

/**
 * The one JSON mapper of the command line. Records serialize as objects with their components in
 * declaration order, which is the order of the fields {@code docs/reference.md} lists for {@code --json}; reading a
 * record requires every field. A scenario's typed values ({@link FailPoint}, {@link BalloonMessages}) are written as a user writes
 * them ({@code "40%"}, {@code "pfn"}), as the journal header's {@code scenario} has always held them.
 */
final class Json {
    private Json() {}

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .addModule(new SimpleModule("ballast")
                    .addSerializer(FailPoint.class, ToStringSerializer.instance)
                    .addSerializer(BalloonMessages.class, ToStringSerializer.instance)
                    .addSerializer(dev.ballast.core.engine.Postcopy.class, ToStringSerializer.instance))
            // the run's "ram" object carries QEMU query-migrate's own names (normal-bytes, dirty-pages-rate, ...)
            .addMixIn(RunReport.Ram.class, QemuNames.class)
            .build();

    @JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
    private abstract static class QemuNames {}
}
