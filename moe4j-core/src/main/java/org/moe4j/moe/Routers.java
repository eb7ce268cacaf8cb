package org.moe4j.moe;

import java.util.List;
import java.util.stream.Collectors;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/** The catalog of routers, in the order the literature introduced them. */
public final class Routers {
    private Routers() {}

    public static List<RouterInfo> all() {
        return List.of(NoisyTopKRouter.INFO, SoftmaxTopKRouter.INFO, SwitchRouter.INFO, HashRouter.INFO,
                BaseRouter.INFO, SinkhornRouter.INFO, ExpertChoiceRouter.INFO, DSelectKRouter.INFO, SmearRouter.INFO,
                MixtureOfTokensRouter.INFO, SigmoidBiasRouter.INFO, TopPRouter.INFO, NullExpertRouter.INFO);
    }

    /** The router called {@code name}, built for {@code config}; an unknown name lists the known ones. */
    public static Router create(String name, MoeConfig config, Rng rng) {
        return find(name).create(config, rng);
    }

    public static RouterInfo find(String name) {
        for (RouterInfo info : all()) if (info.name().equals(name)) return info;
        throw new Moe4jException("unknown router '" + name + "'; choose one of: "
                + all().stream().map(RouterInfo::name).collect(Collectors.joining(", ")));
    }
}
