package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PageContentTest {
    @Test
    void shouldModelZerosFillsAndVersionsApart() {
        assertThat(PageContent.filled(0)).isZero();
        assertThat(PageContent.filled(0xAA)).isEqualTo(-0xAA);
        assertThat(PageContent.describe(0)).isEqualTo("zeros");
        assertThat(PageContent.describe(PageContent.filled(0x5A))).isEqualTo("bytes 0x5a");
        assertThat(PageContent.describe(17)).isEqualTo("version 17");
    }
}
