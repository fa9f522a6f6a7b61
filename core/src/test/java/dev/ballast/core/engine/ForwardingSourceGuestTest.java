package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.mem.RamLayout;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every method of {@link SourceGuest} reaches the wrapped guest once, with its arguments, and its answer comes back. */
class ForwardingSourceGuestTest {

    @Test
    void everyCallReachesTheDelegateWithItsArgumentsAndItsAnswerComesBack() throws Exception {
        List<String> seen = new ArrayList<>();
        RamLayout layout = RamLayout.of(List.of(new RamLayout.Spec("ram", 0, 16)));
        GuestFeatures features = new GuestFeatures(true, false, true, 0x5A);
        SourceGuest delegate = (SourceGuest) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {SourceGuest.class}, (proxy, m, args) -> {
                    seen.add(m.getName() + Arrays.toString(args == null ? new Object[0] : args));
                    return answer(m, layout, features);
                });
        SourceGuest f = new ForwardingSourceGuest(delegate);
        int methods = 0;
        for (Method m : SourceGuest.class.getMethods()) {
            if (java.lang.reflect.Modifier.isStatic(m.getModifiers())) continue;
            Object[] args = arguments(m);
            seen.clear();
            Object got = m.invoke(f, args);
            assertThat(seen).as(m.getName()).containsExactly(m.getName() + Arrays.toString(args));
            assertThat(got).as(m.getName()).isEqualTo(answer(m, layout, features));
            methods++;
        }
        assertThat(methods).isGreaterThanOrEqualTo(16);
    }

    @Test
    void aPausedGuestReadsAsPausedThroughTheForwarder() {
        FakeGuest g = new FakeGuest(RamLayout.of(List.of(new RamLayout.Spec("ram", 0, 16))));
        SourceGuest f = new ForwardingSourceGuest(g);
        assertThat(f.running()).isTrue();
        f.pause();
        assertThat(g.running).isFalse();
        assertThat(f.running()).isFalse();
    }

    /** Distinct arguments for each parameter, so a forwarder that swaps or drops one is seen. */
    private static Object[] arguments(Method m) {
        Class<?>[] p = m.getParameterTypes();
        Object[] a = new Object[p.length];
        for (int i = 0; i < p.length; i++) {
            if (p[i] == int.class) a[i] = 3 + i;
            else if (p[i] == long.class) a[i] = 1000L * (i + 1) + 7;
            else if (p[i] == PageRanges.class) a[i] = (PageRanges) (b, o, c) -> {};
            else if (p[i] == GuestRequests.class) a[i] = (GuestRequests) (t, x, y, z) -> {};
            else throw new AssertionError("a parameter of type " + p[i] + " in " + m);
        }
        return a;
    }

    private static Object answer(Method m, RamLayout layout, GuestFeatures features) {
        Class<?> r = m.getReturnType();
        if (r == RamLayout.class) return layout;
        if (r == GuestFeatures.class) return features;
        if (r == long.class) return (long) m.getName().length() * 1_000_003L;
        if (r == int.class) return m.getName().length() * 7;
        if (r == boolean.class) return m.getName().startsWith("run");
        return null;
    }
}
