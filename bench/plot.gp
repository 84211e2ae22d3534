# Plots for the lamina benchmark report; bench/run calls
#   gnuplot -e "dir='OUT'; tmax=N; batches='256 4096'; subtitle='...'" bench/plot.gp
# with OUT/plot-batch-seed_seq.dat, plot-batch-mlp.dat (batch, lamina 1T,
# PyTorch 1T, lamina NT, PyTorch NT) and plot-threads.dat (threads, then
# lamina/PyTorch per batch), all in samples/s; "?" marks a missing value.
if (!exists("dir")) dir = "bench-results"
if (!exists("tmax")) tmax = 2
if (!exists("batches")) batches = "256"
if (!exists("subtitle")) subtitle = ""

set datafile missing "?"
set terminal pngcairo size 1200,520 font ",10"
set key top left box opaque
set grid

# ---- throughput vs batch size
set output dir."/throughput-vs-batch.png"
set multiplot layout 1,2 title "Throughput vs batch size: lamina (plan) and PyTorch 1.13\n".subtitle
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

# ---- throughput vs threads (MLP): linear axes from 0, so scaling reads directly
set output dir."/throughput-vs-threads.png"
set terminal pngcairo size 800,520 font ",10"
unset logscale
set xlabel "threads"
set ylabel "samples/s"
set yrange [0:*]
set xtics 1
set xrange [0.5:tmax+0.5]
set title "MLP 784-1024-1024-10: throughput vs threads\n".subtitle
f = dir."/plot-threads.dat"
nb = words(batches)
plot for [i=1:nb] f using 1:(column(2*i)) with linespoints lw 2 pt (5+2*i) lc rgb "#1f77b4" title "lamina, batch ".word(batches, i), \
     for [i=1:nb] f using 1:(column(2*i+1)) with linespoints lw 2 dt 2 pt (4+2*i) lc rgb "#ff7f0e" title "PyTorch, batch ".word(batches, i)
