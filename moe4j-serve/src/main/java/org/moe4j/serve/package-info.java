/** The OpenAI-compatible HTTP server over {@link org.moe4j.infer.Generator}, with continuous batching. */
package org.moe4j.serve;
