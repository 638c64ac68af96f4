/*
 * commands.h - the CLI's commands. Each takes argv with argv[0] the
 * command's name and returns the process exit status (cli/opts.h).
 */
#ifndef AMAML_CLI_COMMANDS_H
#define AMAML_CLI_COMMANDS_H

int cmd_gradcheck(int argc, char **argv);
int cmd_metagrad(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
