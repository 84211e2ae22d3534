# Plots for the lamina benchmark report; bench/run calls
#   gnuplot -e "dir='OUT'; tmax=N; tmin=1; series='mlp/256 mlp/4096'; do_batch=1;
#               do_threads=1; torchv='2.3.0'; subtitle='...'" bench/plot.gp
# with OUT/plot-batch-seed_seq.dat, plot-batch-mlp.dat (batch, lamina 1T,
# PyTorch 1T, lamina NT, PyTorch NT; do_batch) and plot-threads.dat (threads,
# then per series CASE/BATCH: lamina and PyTorch samples/s, lamina and PyTorch
# throughput relative to the first thread count tmin; do_threads), all in
# samples/s; "?" marks a missing value.
if (!exists("dir")) dir = "bench-results"
if (!exists("tmax")) tmax = 2
if (!exists("tmin")) tmin = 1
if (!exists("series")) series = "mlp/256"
if (!exists("do_batch")) do_batch = 1
if (!exists("do_threads")) do_threads = 1
if (!exists("torchv")) torchv = ""
if (!exists("subtitle")) subtitle = ""

set datafile missing "?"
set terminal pngcairo size 1200,520 font ",10"
set key top left box opaque
set grid

# ---- throughput vs batch size
if (do_batch) {
set output dir."/throughput-vs-batch.png"
set multiplot layout 1,2 title "Throughput vs batch size: lamina (plan) and PyTorch ".torchv."\n".subtitle
set logscale xy
set xlabel "batch size"
set ylabel "samples/s"
set format y "%.0s%c"
do for [m in "seed_seq mlp"] {
    f = dir."/plot-batch-".m.".dat"
    set title (m eq "seed_seq" ? "seed model Linear(10,50)-ReLU-Linear(50,2)-Sigmoid" : "MLP 784-1024-1024-10 (ReLU)")
    plot f using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "lamina, 1 thread", \
         f using 1:4 with linespoints lw 2 pt 5 lc rgb "#0b3d91" title sprintf("lamina, %d threads", tmax), \
         f using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb "#ff7f0e" title "PyTorch, 1 thread", \
         f using 1:5 with linespoints lw 2 dt 2 pt 4 lc rgb "#b34700" title sprintf("PyTorch, %d threads", tmax)
}
unset multiplot
}

# ---- throughput vs threads: samples/s (left; log scale when the series' rates
# differ a lot) and throughput relative to the first thread count (right,
# linear from 0 with the ideal line), so scaling reads directly.
if (do_threads) {
set output dir."/throughput-vs-threads.png"
set terminal pngcairo size 1200,600 font ",10"
set termoption noenhanced
set key below box opaque
set multiplot layout 1,2 title "Throughput vs threads: lamina (plan) and PyTorch ".torchv."\n".subtitle
unset logscale
unset xlabel  # in the titles: the key below would cover it
set xrange [0.5:tmax+0.5]
if (tmax <= 16) { set xtics 1 } else { set xtics autofreq }
f = dir."/plot-threads.dat"
ns = words(series)
stats f using 2 nooutput
lo = STATS_min
hi = STATS_max
do for [i=2:ns] {
    stats f using (column(4*i-2)) nooutput
    lo = (STATS_min < lo ? STATS_min : lo)
    hi = (STATS_max > hi ? STATS_max : hi)
}
set title "samples/s vs threads"
set ylabel "samples/s"
set format y "%.0s%c"
if (hi > 20 * lo) { set logscale y; set yrange [*:*] } else { set yrange [0:*] }
plot for [i=1:ns] f using 1:(column(4*i-2)) with linespoints lw 2 pt (5+2*i) lc i title "lamina ".word(series, i), \
     for [i=1:ns] f using 1:(column(4*i-1)) with linespoints lw 2 dt 2 pt (4+2*i) lc i title "PyTorch ".word(series, i)
unset logscale
set title sprintf("throughput vs threads, relative to %d thread%s", tmin, tmin > 1 ? "s" : "")
set ylabel "×"
set format y "%g"
set yrange [0:*]
plot x / tmin with lines lw 1 dt 3 lc rgb "#888888" title "linear", \
     for [i=1:ns] f using 1:(column(4*i)) with linespoints lw 2 pt (5+2*i) lc i title "lamina ".word(series, i), \
     for [i=1:ns] f using 1:(column(4*i+1)) with linespoints lw 2 dt 2 pt (4+2*i) lc i title "PyTorch ".word(series, i)
unset multiplot
}
